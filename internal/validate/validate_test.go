package validate

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestBucketName(t *testing.T) {
	cases := []struct {
		name string
		bad  string // a word the error must contain; "" for a valid name
	}{
		{"harden-logs-123456789012-us-east-1", ""},
		{"abc", ""},
		{"a.b-c.1", ""},
		{strings.Repeat("a", 63), ""},
		{"my.logs.example.com", ""},
		{"xn-logs", ""},
		{"logs-s3alia", ""},
		{"ab", "3 to 63"},
		{"", "3 to 63"},
		{strings.Repeat("a", 64), "3 to 63"},
		{"MyLogs", "lowercase"},
		{"my_logs", "lowercase"},
		{"my logs", "lowercase"},
		{"-logs", "start and end"},
		{"logs-", "start and end"},
		{".logs", "start and end"},
		{"logs.", "start and end"},
		{"a..b", "adjacent dots"},
		{"192.168.5.4", "IP address"},
		{"10.0.0.1", "IP address"},
		{"xn--logs", "reserves"},
		{"sthree-logs", "reserves"},
		{"amzn-s3-demo-logs", "reserves"},
		{"logs-s3alias", "reserves"},
		{"logs--ol-s3", "reserves"},
		{"logs.mrap", "reserves"},
		{"logs--x-s3", "reserves"},
		{"logs--table-s3", "reserves"},
	}
	for _, c := range cases {
		err := BucketName(c.name)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("BucketName(%q) = %v, want valid", c.name, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("BucketName(%q) = %v, want an error about %q", c.name, err, c.bad)
		}
	}
}

func TestRegionName(t *testing.T) {
	for _, ok := range []string{"us-east-1", "eu-west-3", "ap-southeast-7", "us-gov-west-1", "cn-north-1", "us-isob-east-1", "mx-central-1"} {
		if err := RegionName(ok); err != nil {
			t.Errorf("RegionName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "us-east", "US-EAST-1", "us-east-1 ", "useast1", "us_east_1", "us-east-1a", "global"} {
		if err := RegionName(bad); err == nil {
			t.Errorf("RegionName(%q) accepted", bad)
		}
	}
}

func TestList(t *testing.T) {
	got, err := List([]string{"us-east-1, eu-west-1", " ap-south-1 "})
	if want := []string{"us-east-1", "eu-west-1", "ap-south-1"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("List = %q, %v; want %q", got, err, want)
	}
	for _, bad := range [][]string{{""}, {"a,,b"}, {"a,"}, {" , a"}, {"a", " "}} {
		if _, err := List(bad); !errors.Is(err, ErrEmptyItem) {
			t.Errorf("List(%q) = %v, want ErrEmptyItem", bad, err)
		}
	}
	if got, err := List(nil); err != nil || got != nil {
		t.Errorf("List(nil) = %q, %v", got, err)
	}
}

func TestNearest(t *testing.T) {
	known := []string{"access-analyzer", "cloudtrail", "config-recorder", "ebs-default-encryption", "log-archive"}
	cases := map[string]string{
		"acess-analyzer":  "access-analyzer",
		"access-analyser": "access-analyzer",
		"cloudtrial":      "cloudtrail",
		"log-archiv":      "log-archive",
		"nope":            "",
		"s3":              "",
	}
	for in, want := range cases {
		if got := Nearest(in, known); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", in, got, want)
		}
	}
	if d := Levenshtein("kitten", "sitting"); d != 3 {
		t.Errorf("Levenshtein(kitten, sitting) = %d", d)
	}
}
