use super::StateMachine;

crate::string_enum!(
    /// `active` until checkout, abandonment (48 h idle) or a merge into a customer's cart.
    CartStatus { Active = "active", CheckedOut = "checked_out", Abandoned = "abandoned", Merged = "merged" }
);

impl StateMachine for CartStatus {
    const ALL: &'static [Self] = &[
        CartStatus::Active,
        CartStatus::CheckedOut,
        CartStatus::Abandoned,
        CartStatus::Merged,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = &[
        (CartStatus::Active, CartStatus::CheckedOut),
        (CartStatus::Active, CartStatus::Abandoned),
        (CartStatus::Active, CartStatus::Merged),
    ];
}

impl CartStatus {
    /// Idle time after which the scheduler marks an active cart abandoned.
    pub const IDLE_MS: i64 = 48 * crate::time_fmt::HOUR_MS;
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn every_cart_state_is_reachable_and_final_states_are_final() {
        assert_eq!(CartStatus::reachable().len(), CartStatus::ALL.len());
        for s in [
            CartStatus::CheckedOut,
            CartStatus::Abandoned,
            CartStatus::Merged,
        ] {
            assert!(
                CartStatus::ALL.iter().all(|&t| !s.can_go(t)),
                "{s:?} must be final"
            );
        }
    }
}
