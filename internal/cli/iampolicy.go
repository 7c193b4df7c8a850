package cli

import (
	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/iampolicy"
	"github.com/harden-dev/harden/internal/report"
)

func newIAMPolicyCmd(g *globals, stdio IO) *cobra.Command {
	var forWhat string
	cmd := &cobra.Command{
		Use:     "iam-policy",
		Short:   "Print the least-privilege IAM policy harden needs (JSON)",
		Example: iamPolicyExample,
		Long: `iam-policy prints an IAM policy document that allows exactly the actions harden
calls for the selected controls (--controls, --skip): the read actions for plan and
audit (--for plan, the default), and the write actions too for apply and rollback.
It comes from the actions each control declares, so it changes with the controls.
It makes no AWS call.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			f, err := iampolicy.ParseFor(forWhat)
			if err != nil {
				return &usageError{err}
			}
			if err := g.validate(); err != nil {
				return err
			}
			sel, err := g.selectControls()
			if err != nil {
				return err
			}
			infos := make([]control.Info, len(sel))
			for i, c := range sel {
				infos[i] = c.Info()
			}
			return report.WriteJSON(stdio.Out, iampolicy.Build(infos, f))
		},
	}
	cmd.Flags().StringVar(&forWhat, "for", "plan", "what the policy is for: plan (also audit), apply or rollback")
	_ = cmd.RegisterFlagCompletionFunc("for", completeWords(func() []string { return []string{"plan", "apply", "rollback"} }))
	return cmd
}
