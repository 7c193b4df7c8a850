package fakeaws

import "testing"

func TestFilterPattern(t *testing.T) {
	event := `{"eventName":"ConsoleLogin","errorCode":"Client.UnauthorizedOperation","userIdentity":{"type":"Root"},` +
		`"resources":[{"ARN":"arn:aws:s3:::b"}],"count":3,"readOnly":false,"path":"a/b/c","literal":"Ev*ent","nothing":null,` +
		`"users":[1,2,3],"actions":["GET","PUT","DELETE"],"user":{"id":1,"email":"John.Stiles@example.com"},"ip":"10.0.3.4"}`
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
		// "*" is a wildcard at the start or the end of a value only: "Ev*ent
		// will only match the actual string Ev*ent" (user guide).
		{`{ $.path = "a*c" }`, false},
		{`{ $.literal = "Ev*ent" }`, true},
		{`{ $.path = "*b*" }`, true},
		{`{ $.path = * }`, true},
		{`{ $.ip != 10.0.* }`, false},
		{`{ $.ip != 192.168.* }`, true},
		// A selector on an array or an object matches neither = nor !=.
		{`{ $.users = 1 }`, false},
		{`{ $.users != 1 }`, false},
		{`{ $.user != "x" }`, false},
		{`{ $.nothing IS NULL }`, true},
		{`{ $.path IS NULL }`, false},
		{`{ $.readOnly IS FALSE }`, true},
		{`{ $.readOnly IS TRUE }`, false},
		{`{ $.count IS TRUE }`, false},
		// The user guide's compound examples: () > && > ||.
		{`{ ($.user.id = 1) && ($.actions[0] = "GET") }`, true},
		{`{ ($.user.id = 2 && $.actions[0] = "nonmatch") || $.actions[2] = "GET" }`, false},
		{`{ $.user.email = "John.Stiles@example.com" || $.actions[1] = nonmatch && $.actions[2] = nomatch }`, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.actions[1] = nonmatch) && $.actions[2] = nomatch }`, false},
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
	for _, bad := range []string{`{ $.a = }`, `{ $.a = 1`, `{ ($.a = 1 }`, `{ a = 1 }`, `{ $.a NOT 1 }`, `{ $.a = 1 ) }`, `{ $.a IS MAYBE }`} {
		if _, err := parseFilterPattern(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
