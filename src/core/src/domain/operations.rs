//! The operations side's state machines: automation steps after a delivery.

use super::StateMachine;

crate::string_enum!(
    /// An automation step (seed 001 §2.4): due once its parcel is delivered, run through the
    /// queue, retried within its scenario's policy, then escalated to a person.
    AutomationStepStatus { Pending = "pending", Running = "running", Succeeded = "succeeded", Failed = "failed", Fallback = "fallback" }
);

impl StateMachine for AutomationStepStatus {
    const ALL: &'static [Self] = &[
        AutomationStepStatus::Pending,
        AutomationStepStatus::Running,
        AutomationStepStatus::Succeeded,
        AutomationStepStatus::Failed,
        AutomationStepStatus::Fallback,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = &[
        // Claimed with a lease by the consumer.
        (AutomationStepStatus::Pending, AutomationStepStatus::Running),
        // An attempt failed with attempts left (or its lease ran out): due again later.
        (AutomationStepStatus::Running, AutomationStepStatus::Pending),
        (
            AutomationStepStatus::Running,
            AutomationStepStatus::Succeeded,
        ),
        // The last attempt failed: an operator task.
        (AutomationStepStatus::Running, AutomationStepStatus::Failed),
        // An operator retries it, or did it by hand.
        (AutomationStepStatus::Failed, AutomationStepStatus::Pending),
        (AutomationStepStatus::Failed, AutomationStepStatus::Fallback),
        (
            AutomationStepStatus::Pending,
            AutomationStepStatus::Fallback,
        ),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_status_is_reachable_and_success_is_final() {
        assert_eq!(
            AutomationStepStatus::reachable().len(),
            AutomationStepStatus::ALL.len()
        );
        for to in AutomationStepStatus::ALL {
            assert!(!AutomationStepStatus::Succeeded.can_go(*to));
            assert!(!AutomationStepStatus::Fallback.can_go(*to));
        }
    }
}
