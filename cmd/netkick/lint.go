package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/netkick/netkick/kickstart/lint"
)

const lintUsage = `lint FILE.ks         (- reads stdin)
       netkick lint --host HOST  (lints what HOST would be served)`

func runLint(ctx context.Context, a *app, args []string) error {
	var sf storeFlags
	fs := a.newFlags("lint", lintUsage)
	sf.register(fs)
	host := fs.String("host", "", "lint the kickstart this host would be served")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	var in []byte
	name := ""
	switch {
	case *host != "" && len(pos) == 0:
		b, err := sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		if in, err = b.Render(ctx, "kickstart", *host); err != nil {
			return err
		}
		name = "kickstart of " + *host
	case *host == "" && len(pos) == 1:
		name = pos[0]
		if pos[0] == "-" {
			in, err = io.ReadAll(os.Stdin)
		} else {
			in, err = os.ReadFile(pos[0])
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", pos[0], err)
		}
	default:
		return usageError{"want FILE.ks or --host HOST; usage: netkick " + lintUsage}
	}
	findings, err := lint.Check(bytes.NewReader(in))
	if err != nil {
		return err
	}
	for _, f := range findings {
		fmt.Fprintf(a.stdout, "%s: %s\n", name, f)
	}
	if n := lint.Errors(findings); n > 0 {
		return fmt.Errorf("%s: %d error(s)", name, n)
	}
	fmt.Fprintf(a.stdout, "%s: ok (%d warning(s))\n", name, len(findings))
	return nil
}
