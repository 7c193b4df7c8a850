package controls

import "testing"

func TestSameFilterPattern(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`{($.eventName=A)||($.eventName=B)}`, `{ ($.eventName = A) || ($.eventName = B) }`, true},
		{"{ $.a = \"x\"\n\t&& $.b NOT EXISTS }", `{$.a="x" && $.b NOT EXISTS}`, true},
		{`{ $.b NOT  EXISTS }`, `{ $.b NOT EXISTS }`, true},
		{`{ $.b NOT EXISTS }`, `{ $.bNOT EXISTS }`, false},
		{`{ $.a = "x y" }`, `{ $.a = "x  y" }`, false},
		{`{ $.a = "x" }`, `{ $.a = "X" }`, false},
		{`{ $.a = "x\" y" }`, `{ $.a = "x\"  y" }`, false},
		{`ERROR  Exception`, `ERROR Exception`, true},
		{`ERROR Exception`, `ERRORException`, false},
	} {
		if got := sameFilterPattern(tc.a, tc.b); got != tc.same {
			t.Errorf("sameFilterPattern(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
