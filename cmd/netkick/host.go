package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/inventory"
)

const hostUsage = `host add MAC --hostname H [--ip IP] [--profile P] [--role R]… [--label k=v]… [--param k=v]…
       netkick host tag HOST ROLE…
       netkick host untag HOST ROLE…
       netkick host list [--state S] [--role R]
       netkick host show HOST
       netkick host rm HOST
       netkick host build HOST…   (next network boot installs, once)`

func runHost(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usageError{"missing subcommand; usage: netkick " + hostUsage}
	}
	sub, args := args[0], args[1:]
	var sf storeFlags
	fs := a.newFlags("host "+sub, hostUsage)
	sf.register(fs)
	switch sub {
	case "add":
		var h inventory.Host
		var roles, labels, params, macs stringList
		fs.StringVar(&h.Hostname, "hostname", "", "host name (RFC 1123), required")
		fs.StringVar(&h.IP, "ip", "", "static IPv4 address (the DHCP reservation)")
		fs.StringVar(&h.Profile, "profile", "", "OS profile name")
		fs.StringVar(&h.Layout, "layout", "", "disk layout name")
		fs.StringVar(&h.Timezone, "timezone", "", "Olson time zone, e.g. America/Toronto")
		fs.StringVar(&h.Cluster, "cluster", "", "LVS cluster name")
		fs.StringVar(&h.RootPasswordHash, "root-password-hash", "", "root password as a crypt(3) hash ($6$…)")
		pwStdin := fs.Bool("root-password-stdin", false, "read the root password in clear from stdin and store its SHA-512 crypt hash")
		fs.Var(&roles, "role", "role (repeatable)")
		fs.Var(&labels, "label", "label key=value (repeatable)")
		fs.Var(&params, "param", "kickstart parameter key=value (repeatable)")
		fs.Var(&macs, "mac", "additional MAC (repeatable)")
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"want exactly one MAC; usage: netkick " + hostUsage}
		}
		if h.Hostname == "" {
			return usageError{"--hostname is required"}
		}
		if *pwStdin {
			if h.RootPasswordHash != "" {
				return usageError{"give --root-password-hash or --root-password-stdin, not both"}
			}
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("read the root password from stdin: %w", err)
			}
			if h.RootPasswordHash, err = inventory.HashPassword(strings.TrimRight(line, "\r\n")); err != nil {
				return err
			}
		}
		h.MACs = append([]string{pos[0]}, macs...)
		h.Roles = roles
		if h.Labels, err = keyValues("label", labels); err != nil {
			return err
		}
		if h.Params, err = keyValues("param", params); err != nil {
			return err
		}
		b, err := sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		if err := b.PutHost(ctx, &h); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "added %s (%s), state %s\n", h.Hostname, strings.Join(h.MACs, ", "), h.State)
		return nil
	case "tag", "untag":
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) < 2 {
			return usageError{"want HOST and at least one ROLE; usage: netkick " + hostUsage}
		}
		rc := httpd.RolesChange{Add: pos[1:]}
		if sub == "untag" {
			rc = httpd.RolesChange{Remove: pos[1:]}
		}
		b, err := sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		h, err := b.ChangeRoles(ctx, pos[0], rc)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s roles: %s\n", h.Hostname, orNone(h.Roles))
		return nil
	case "list":
		var state, role, cluster string
		fs.StringVar(&state, "state", "", "only hosts in this state ("+statesList()+")")
		fs.StringVar(&role, "role", "", "only hosts with this role")
		fs.StringVar(&cluster, "cluster", "", "only hosts in this LVS cluster")
		_, b, err := sf.parseOpen(fs, args)
		if err != nil {
			return err
		}
		defer b.Close()
		hosts, err := b.ListHosts(ctx, inventory.HostFilter{State: inventory.State(state), Role: role, Cluster: cluster})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOSTNAME\tMAC\tIP\tPROFILE\tSTATE\tROLES")
		for _, h := range hosts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Hostname, h.ID(), dash(h.IP), dash(h.Profile), h.State, orNone(h.Roles))
		}
		return tw.Flush()
	case "show":
		key, b, err := oneHost(fs, &sf, args)
		if err != nil {
			return err
		}
		defer b.Close()
		h, err := b.GetHost(ctx, key)
		if err != nil {
			return err
		}
		ev, err := b.Events(ctx, key)
		if err != nil {
			return err
		}
		printHost(a, h, ev)
		return nil
	case "rm":
		key, b, err := oneHost(fs, &sf, args)
		if err != nil {
			return err
		}
		defer b.Close()
		if err := b.DeleteHost(ctx, key); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "removed %s\n", key)
		return nil
	case "build":
		ttl := fs.Duration("ttl", 0, "how long the build token stays valid (default: the server's, 6h)")
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) == 0 {
			return usageError{"want at least one HOST (MAC or hostname)"}
		}
		b, err := sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		for _, key := range pos {
			br, err := b.Build(ctx, key, *ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s is in build mode until %s: its next network boot installs, once.\nkickstart: %s\n",
				br.Host.Hostname, br.Expires.Local().Format(time.DateTime), br.KickstartURL)
		}
		return nil
	default:
		return usageError{fmt.Sprintf("unknown subcommand %q; usage: netkick %s", sub, hostUsage)}
	}
}

// oneHost parses the flags and the single HOST argument, then opens the backend.
func oneHost(fs *flag.FlagSet, sf *storeFlags, args []string) (string, backend, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", nil, err
	}
	if len(pos) != 1 {
		return "", nil, usageError{"want exactly one HOST (MAC or hostname)"}
	}
	b, err := sf.open()
	return pos[0], b, err
}

func printHost(a *app, h *inventory.Host, ev []inventory.Event) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	// Every value may have come from a machine (DHCP, reports): escaped.
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, inventory.EscapeControl(v, false)) }
	row("hostname", h.Hostname)
	row("macs", strings.Join(h.MACs, ", "))
	row("ip", dash(h.IP))
	row("state", string(h.State))
	row("profile", dash(h.Profile))
	row("layout", dash(h.Layout))
	row("roles", orNone(h.Roles))
	row("cluster", dash(h.Cluster))
	row("timezone", dash(h.Timezone))
	for _, kv := range sortedKV(h.Labels) {
		row("label", kv)
	}
	for _, kv := range sortedKV(h.Params) {
		row("param", kv)
	}
	if h.RootPasswordHash != "" {
		row("root password", "set (crypt hash)")
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "\ntimeline (%d events):\n", len(ev))
	tw = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, e := range ev {
		// Install logs keep their lines, indented under the event.
		detail := strings.ReplaceAll(inventory.EscapeControl(e.Detail, true), "\n", "\n      ")
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), inventory.EscapeControl(e.Kind, false), detail)
	}
	tw.Flush()
}

func keyValues(kind string, in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usageError{fmt.Sprintf("--%s %q: want key=value", kind, kv)}
		}
		out[k] = v
	}
	return out, nil
}

func sortedKV(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sortStrings(out)
	return out
}

func statesList() string {
	var s []string
	for _, x := range inventory.States() {
		s = append(s, string(x))
	}
	return strings.Join(s, ", ")
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "-"
	}
	return strings.Join(ss, " ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
