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
        // Checkout placed its order.
        (CartStatus::Active, CartStatus::CheckedOut),
        // Idle for 48 h (the hourly job).
        (CartStatus::Active, CartStatus::Abandoned),
        // A guest signed in: its lines moved into the customer's cart.
        (CartStatus::Active, CartStatus::Merged),
        // Its order was cancelled unpaid (payment failed, session expired, 48 h passed):
        // the shopper gets the cart back to try again.
        (CartStatus::CheckedOut, CartStatus::Active),
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
        assert_eq!(
            CartStatus::ALL
                .iter()
                .filter(|&&t| CartStatus::CheckedOut.can_go(t))
                .collect::<Vec<_>>(),
            vec![&CartStatus::Active],
            "a checked-out cart only comes back when its order is cancelled unpaid"
        );
        for s in [CartStatus::Abandoned, CartStatus::Merged] {
            assert!(
                CartStatus::ALL.iter().all(|&t| !s.can_go(t)),
                "{s:?} must be final"
            );
        }
    }
}
