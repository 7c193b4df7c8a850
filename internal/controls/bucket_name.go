package controls

import (
	"fmt"
	"net/netip"
	"strings"
)

// Reserved prefixes and suffixes of S3 general purpose bucket names.
var (
	reservedBucketPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedBucketSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// ValidBucketName checks name against the S3 general purpose bucket naming
// rules: 3 to 63 characters of lowercase letters, digits, dots and
// hyphens; a letter or digit first and last; no two adjacent periods; not
// an IP address; none of the reserved prefixes and suffixes. It makes no
// AWS call, so callers validate --log-bucket before anything is written.
func ValidBucketName(name string) error {
	bad := func(why string) error { return fmt.Errorf("invalid S3 bucket name %q: %s", name, why) }
	if n := len(name); n < 3 || n > 63 {
		return bad(fmt.Sprintf("it has %d characters, a bucket name has 3 to 63", n))
	}
	for _, r := range name {
		if !isBucketNameChar(r) {
			return bad(fmt.Sprintf("%q is not allowed: use lowercase letters, digits, dots and hyphens", r))
		}
	}
	if !isLowerAlnum(rune(name[0])) || !isLowerAlnum(rune(name[len(name)-1])) {
		return bad("it must begin and end with a lowercase letter or digit")
	}
	if strings.Contains(name, "..") {
		return bad("it must not contain two adjacent periods")
	}
	if looksLikeIPv4(name) {
		return bad("it must not be formatted as an IP address")
	}
	for _, p := range reservedBucketPrefixes {
		if strings.HasPrefix(name, p) {
			return bad(fmt.Sprintf("the prefix %q is reserved", p))
		}
	}
	for _, s := range reservedBucketSuffixes {
		if strings.HasSuffix(name, s) {
			return bad(fmt.Sprintf("the suffix %q is reserved", s))
		}
	}
	return nil
}

func isLowerAlnum(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }

func isBucketNameChar(r rune) bool { return isLowerAlnum(r) || r == '.' || r == '-' }

// looksLikeIPv4 reports whether name is four dot-separated groups of
// digits, as S3 rejects (192.168.5.4), whether or not each group is a
// valid octet.
func looksLikeIPv4(name string) bool {
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	parts := strings.Split(name, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
