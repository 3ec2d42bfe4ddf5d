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
// are skipped (ParsePiranhaReport lists them); a malformed line, a block left
// open or a bad number is an error naming the line. Defaults are filled in
// as by WithDefaults.
func ParsePiranha(name, text string) (*Plan, error) {
	p, _, err := ParsePiranhaReport(name, text)
	return p, err
}

// Unmodeled is a setting of an lvs.cf that a Plan does not hold.
type Unmodeled struct {
	Line  int    // 1-based line in the file
	Block string // "" (global), "virtual NAME" or "virtual NAME / server NAME"
	Key   string
	Value string
}

// piranhaInert are the settings, with the value that changes nothing, which
// RenderPiranha writes itself: a file that holds them so loses nothing.
var piranhaInert = map[string]string{
	"heartbeat": "1", "debug_level": "NONE", "monitor_links": "0", "syncdaemon": "0",
	"active": "1", "use_regex": "0", "load_monitor": "none", "quiesce_server": "0",
}

// ParsePiranhaReport is ParsePiranha that also returns, in file order, every
// setting the Plan does not hold: keys it has no field for (nat_router,
// fwmark, sorry_server, …), an inactive virtual server or real server
// (active = 0), and a backup left switched off (backup_active = 0: the Plan
// has no backup, and the backup line is listed last). Keys RenderPiranha itself writes with their
// neutral value (active = 1, use_regex = 0, …) are not listed.
func ParsePiranhaReport(name, text string) (*Plan, []Unmodeled, error) {
	var skipped []Unmodeled
	backupActive, backupLine := true, 0
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
	block := func() string {
		switch {
		case real != nil:
			return "virtual " + svc.Name + " / server " + real.Name
		case svc != nil:
			return "virtual " + svc.Name
		}
		return ""
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
				return nil, nil, fail("'}' closes no block")
			}
			continue
		}
		if strings.HasSuffix(line, "{") {
			f := strings.Fields(strings.TrimSuffix(line, "{"))
			if len(f) != 2 {
				return nil, nil, fail("want 'virtual NAME {' or 'server NAME {', got %q", trunc(line))
			}
			switch {
			case f[0] == "virtual" && svc == nil:
				svc = &Service{VirtualService: inventory.VirtualService{Name: f[1]}}
			case f[0] == "server" && svc != nil && real == nil:
				real = &Real{Name: f[1], Weight: -1}
			case f[0] == "failover":
				return nil, nil, fail("failover services (service = fos) are not supported; netkick reads LVS virtual servers only")
			default:
				return nil, nil, fail("unexpected block %q here", trunc(line))
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, nil, fail("want 'key = value', got %q", trunc(line))
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
		known := true
		switch {
		case real != nil:
			switch k {
			case "address":
				real.IP = v
			case "port":
				err = num(&real.Port)
			case "weight":
				err = num(&real.Weight)
			default:
				known = false
			}
		case svc != nil:
			s := &svc.VirtualService
			switch k {
			case "address":
				f := strings.Fields(v)
				if len(f) != 2 {
					return nil, nil, fail("address = %q: want 'VIP DEVICE' such as '192.0.2.40 eth0:1'", trunc(v))
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
			default:
				known = false
			}
		default:
			switch k {
			case "serial_no":
				err = num(&c.Serial)
			case "primary":
				c.Primary, p.Primary.IP = v, v
			case "backup":
				c.Backup, p.Backup.IP, backupLine = v, v, n
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
					return nil, nil, fail("service = %s: only service = lvs is supported", trunc(v))
				}
			case "backup_active":
				backupActive = v != "0"
			default:
				known = false
			}
		}
		if err != nil {
			return nil, nil, err
		}
		if !known && piranhaInert[k] != v {
			skipped = append(skipped, Unmodeled{Line: n, Block: block(), Key: k, Value: v})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading lvs.cf: %w", err)
	}
	if svc != nil {
		return nil, nil, fail("virtual %s is not closed with '}'", svc.Name)
	}
	if !backupActive {
		if c.Backup != "" {
			skipped = append(skipped, Unmodeled{Line: backupLine, Key: "backup", Value: c.Backup})
		}
		c.Backup, p.Backup = "", Director{}
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
	return p, skipped, nil
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
