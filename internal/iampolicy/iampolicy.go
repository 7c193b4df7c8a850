// Package iampolicy builds the least-privilege IAM policy harden needs for
// a selection of controls, from the actions each control declares in its
// Info (ReadActions for plan and audit, WriteActions added for apply and
// rollback).
package iampolicy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/harden-dev/harden/internal/control"
)

// For is what the policy is for.
type For string

const (
	Plan     For = "plan"
	Apply    For = "apply"
	Rollback For = "rollback"
)

// ParseFor parses --for.
func ParseFor(s string) (For, error) {
	switch f := For(strings.ToLower(strings.TrimSpace(s))); f {
	case Plan, Apply, Rollback:
		return f, nil
	case "audit":
		return Plan, nil
	}
	return "", fmt.Errorf("unknown --for %q: want plan, apply or rollback", s)
}

// Base are the actions every run needs, whatever its controls: who is
// calling and which regions the account has enabled (plan, audit and
// apply), and the account alias shown in apply's question (optional: a
// denial is tolerated).
var Base = []string{"sts:GetCallerIdentity", "ec2:DescribeRegions", "iam:ListAccountAliases"}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

// Build returns the policy for infos: a statement for the base actions,
// then one per control with the actions that control needs (sorted,
// without duplicates). Rollback needs what apply needs: it reads the
// current state before undoing, and undoes with the write actions.
func Build(infos []control.Info, f For) Document {
	doc := Document{Version: "2012-10-17"}
	doc.Statement = append(doc.Statement, Statement{Sid: "HardenAccount", Effect: "Allow", Action: uniq(Base), Resource: "*"})
	for _, in := range infos {
		actions := append([]string(nil), in.ReadActions...)
		if f != Plan {
			actions = append(actions, in.WriteActions...)
		}
		if len(actions) == 0 {
			continue
		}
		doc.Statement = append(doc.Statement, Statement{Sid: sid(in.ID), Effect: "Allow", Action: uniq(actions), Resource: "*"})
	}
	return doc
}

// Actions lists every action of doc, sorted.
func (d Document) Actions() []string {
	var all []string
	for _, s := range d.Statement {
		all = append(all, s.Action...)
	}
	return uniq(all)
}

func uniq(actions []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range actions {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// sid is a control id as a statement id: "iam-password-policy" ->
// "IamPasswordPolicy" (Sids are alphanumeric).
func sid(id string) string {
	var b strings.Builder
	for _, p := range strings.Split(id, "-") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}
