package fakeaws

// The account-level IAM operations besides the password policy: the
// account alias, which harden shows in its apply prompt.

// withIAMAccountOps adds the account-alias operations to the IAM service.
func withIAMAccountOps(svc *service) *service {
	svc.ops = append(svc.ops,
		&op{name: "ListAccountAliases", handle: iamListAccountAliases},
	)
	return svc
}

// SetAccountAlias sets the account's alias ("" removes it).
func (s *Server) SetAccountAlias(alias string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alias = alias
}

// iamListAccountAliases lists the alias: an account has at most one.
// s.mu is held while an operation runs.
func iamListAccountAliases(c *call) (any, error) {
	aliases := []string{}
	if c.server.alias != "" {
		aliases = append(aliases, c.server.alias)
	}
	return struct {
		AccountAliases []string `xml:"AccountAliases>member"`
		IsTruncated    bool     `xml:"IsTruncated"`
	}{aliases, false}, nil
}
