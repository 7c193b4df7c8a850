package fakeaws

import "testing"

func TestFilterPattern(t *testing.T) {
	event := `{"eventName":"ConsoleLogin","errorCode":"Client.UnauthorizedOperation","userIdentity":{"type":"Root"},` +
		`"resources":[{"ARN":"arn:aws:s3:::b"}],"count":3,"readOnly":false,"path":"a/b/c"}`
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{``, true},
		{`ConsoleLogin Root`, true},
		{`ConsoleLogin Nobody`, false},
		{`{ $.eventName = ConsoleLogin }`, true},
		{`{ $.eventName = "ConsoleLogin" }`, true},
		{`{ $.eventName != "ConsoleLogin" }`, false},
		{`{ $.errorCode = "*UnauthorizedOperation" }`, true},
		{`{ $.errorCode = "AccessDenied*" }`, false},
		{`{ $.path = "a*c" }`, true},
		{`{ $.userIdentity.type = Root && $.userIdentity.invokedBy NOT EXISTS }`, true},
		{`{ $.userIdentity.invokedBy != "x" }`, false}, // a missing field never matches
		{`{ $.userIdentity.type EXISTS }`, true},
		{`{ ($.eventName = A) || ($.eventName = ConsoleLogin) && ($.count > 2) }`, true},
		{`{ (($.eventName = A) || ($.eventName = ConsoleLogin)) && ($.count > 3) }`, false},
		{`{ $.count >= 3 && $.count <= 3 && $.count = 3 }`, true},
		{`{ $.resources[0].ARN = "arn:aws:s3:::b" }`, true},
		{`{ $.resources[1].ARN = "arn:aws:s3:::b" }`, false},
		{`{ $.readOnly = false }`, true},
	} {
		p, err := parseFilterPattern(tc.pattern)
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		if got := p.matchMessage(event); got != tc.want {
			t.Errorf("%s matched %v, want %v", tc.pattern, got, tc.want)
		}
	}
	for _, bad := range []string{`{ $.a = }`, `{ $.a = 1`, `{ ($.a = 1 }`, `{ a = 1 }`, `{ $.a NOT 1 }`, `{ $.a = 1 ) }`} {
		if _, err := parseFilterPattern(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
