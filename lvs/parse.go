package lvs

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// ParsePiranha reads a piranha lvs.cf back into a Plan for cluster name.
// The directors come back as addresses (lvs.cf holds no host names for
// them); Cluster.Primary and Cluster.Backup hold those addresses, which
// FindHost resolves. Keys netkick does not model (nat_router, fallback, …)
// are skipped; a malformed line, a block left open or a bad number is an
// error naming the line. Defaults are filled in as by WithDefaults.
func ParsePiranha(name, text string) (*Plan, error) {
	p := &Plan{}
	c := &p.Cluster
	c.Name = name
	var svc *Service
	var real *Real
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: lvs.cf line %d: %s", inventory.ErrInvalid, n, fmt.Sprintf(format, a...))
	}
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line == "}" {
			switch {
			case real != nil:
				if real.Weight < 0 {
					real.Weight = DefaultWeight
				}
				svc.Reals = append(svc.Reals, *real)
				real = nil
			case svc != nil:
				p.Services = append(p.Services, *svc)
				svc = nil
			default:
				return nil, fail("'}' closes no block")
			}
			continue
		}
		if strings.HasSuffix(line, "{") {
			f := strings.Fields(strings.TrimSuffix(line, "{"))
			if len(f) != 2 {
				return nil, fail("want 'virtual NAME {' or 'server NAME {', got %q", trunc(line))
			}
			switch {
			case f[0] == "virtual" && svc == nil:
				svc = &Service{VirtualService: inventory.VirtualService{Name: f[1]}}
			case f[0] == "server" && svc != nil && real == nil:
				real = &Real{Name: f[1], Weight: -1}
			case f[0] == "failover":
				return nil, fail("failover services (service = fos) are not supported; netkick reads LVS virtual servers only")
			default:
				return nil, fail("unexpected block %q here", trunc(line))
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fail("want 'key = value', got %q", trunc(line))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		num := func(dst *int) error {
			x, err := strconv.Atoi(v)
			if err != nil || x < 0 {
				return fail("%s = %q: want a non-negative integer", k, trunc(v))
			}
			*dst = x
			return nil
		}
		var err error
		switch {
		case real != nil:
			switch k {
			case "address":
				real.IP = v
			case "port":
				err = num(&real.Port)
			case "weight":
				err = num(&real.Weight)
			}
		case svc != nil:
			s := &svc.VirtualService
			switch k {
			case "address":
				f := strings.Fields(v)
				if len(f) != 2 {
					return nil, fail("address = %q: want 'VIP DEVICE' such as '192.0.2.40 eth0:1'", trunc(v))
				}
				s.VIP, s.Interface = f[0], f[1]
			case "vip_nmask":
				s.Netmask = v
			case "port":
				err = num(&s.Port)
			case "persistent":
				err = num(&s.Persistent)
			case "send":
				s.Send, err = unquote(v, fail)
			case "expect":
				s.Expect, err = unquote(v, fail)
			case "scheduler":
				s.Scheduler = v
			case "protocol":
				s.Protocol = v
			case "timeout":
				err = num(&s.Timeout)
			case "reentry":
				err = num(&s.Reentry)
			}
		default:
			switch k {
			case "serial_no":
				err = num(&c.Serial)
			case "primary":
				c.Primary, p.Primary.IP = v, v
			case "backup":
				c.Backup, p.Backup.IP = v, v
			case "heartbeat_port":
				err = num(&c.Heartbeat.Port)
			case "keepalive":
				err = num(&c.Heartbeat.Keepalive)
			case "deadtime":
				err = num(&c.Heartbeat.Deadtime)
			case "network":
				c.Network = v
			case "service":
				if v != "lvs" {
					return nil, fail("service = %s: only service = lvs is supported", trunc(v))
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading lvs.cf: %w", err)
	}
	if svc != nil {
		return nil, fail("virtual %s is not closed with '}'", svc.Name)
	}
	for _, s := range p.Services {
		c.Services = append(c.Services, s.VirtualService)
	}
	*c = WithDefaults(*c)
	for i := range p.Services {
		reals := p.Services[i].Reals
		p.Services[i].VirtualService = c.Services[i]
		for j := range reals {
			if reals[j].Port == 0 {
				reals[j].Port = c.Services[i].Port
			}
		}
	}
	return p, nil
}

func unquote(v string, fail func(string, ...any) error) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1], nil
	}
	if strings.ContainsRune(v, '"') {
		return "", fail("value %q: quotes do not match", trunc(v))
	}
	return v, nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
