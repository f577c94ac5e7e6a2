crate::string_enum!(
    /// Admin roles, each including the rights of the ones before it.
    Role { Support = "support", Admin = "admin", Superadmin = "superadmin" }
);

impl Role {
    fn rank(self) -> u8 {
        match self {
            Role::Support => 0,
            Role::Admin => 1,
            Role::Superadmin => 2,
        }
    }
    /// Whether this role has at least the rights of `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self.rank() >= needed.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::Role;
    #[test]
    fn roles_are_ordered() {
        assert!(Role::Superadmin.allows(Role::Admin));
        assert!(Role::Admin.allows(Role::Support));
        assert!(!Role::Support.allows(Role::Admin));
        assert!(!Role::Admin.allows(Role::Superadmin));
    }
}
