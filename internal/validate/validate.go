// Package validate checks user input that needs no AWS call: S3 bucket
// names, region names, comma-separated lists, and the nearest known name
// to a misspelt one.
package validate

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Bucket name prefixes and suffixes S3 reserves.
var (
	reservedPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// BucketName checks name against the S3 general purpose bucket naming
// rules: 3 to 63 characters of lowercase letters, digits, dots and
// hyphens, starting and ending with a letter or digit, no "..", not an IP
// address, and none of the prefixes and suffixes S3 reserves.
func BucketName(name string) error {
	if n := len(name); n < 3 || n > 63 {
		return fmt.Errorf("bucket name %q is %d characters long: S3 wants 3 to 63", name, n)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket name %q has %q: S3 allows only lowercase letters, digits, dots and hyphens", name, c)
		}
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return fmt.Errorf("bucket name %q must start and end with a lowercase letter or a digit", name)
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("bucket name %q has two adjacent dots", name)
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return fmt.Errorf("bucket name %q is an IP address", name)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return fmt.Errorf("bucket name %q starts with %q, which S3 reserves", name, p)
		}
	}
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(name, s) {
			return fmt.Errorf("bucket name %q ends with %q, which S3 reserves", name, s)
		}
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// RegionPattern is the shape of every AWS region name: us-east-1,
// us-gov-west-1, cn-north-1, eu-isoe-west-1, ap-southeast-7.
const RegionPattern = `^[a-z]{2}(-(gov|iso[a-z]?))?-[a-z]+-[0-9]{1,2}$`

var regionPattern = regexp.MustCompile(RegionPattern)

// RegionName checks that name has the shape of an AWS region name. Whether
// the account has such a region only DescribeRegions can say.
func RegionName(name string) error {
	if !regionPattern.MatchString(name) {
		return fmt.Errorf("%q is not a region name (like us-east-1): run 'aws ec2 describe-regions --all-regions' for the names", name)
	}
	return nil
}

// ErrEmptyItem is a list with an empty item: "", "a,,b" or "a,".
var ErrEmptyItem = errors.New("empty item")

// List splits the values of a repeatable comma-separated flag into items,
// trimming spaces around each ("us-east-1, eu-west-1" is two regions). An
// empty item is an error: it would otherwise silently mean "all".
func List(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				return nil, fmt.Errorf("%w in %q", ErrEmptyItem, v)
			}
			out = append(out, item)
		}
	}
	return out, nil
}

// Nearest returns the known name closest to name by edit distance, if it
// is close enough to be a likely misspelling (at most a third of its
// length, and at least 1, away), else "".
func Nearest(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		d := Levenshtein(name, k)
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD < 0 || bestD > max(1, len(name)/3) {
		return ""
	}
	return best
}

// Levenshtein is the edit distance between a and b: the fewest insertions,
// deletions and substitutions of runes that turn one into the other.
func Levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
