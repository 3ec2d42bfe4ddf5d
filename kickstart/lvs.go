package kickstart

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/lvs"
)

// ClusterSource is what rendering the LVS roles reads besides the host: its
// cluster, the other clusters and every host (for the real servers). The
// inventory Store satisfies it.
type ClusterSource interface {
	GetCluster(ctx context.Context, name string) (*inventory.Cluster, error)
	ListClusters(ctx context.Context) ([]inventory.Cluster, error)
	ListHosts(ctx context.Context, f inventory.HostFilter) ([]inventory.Host, error)
}

// LVS is the role data of the lvs-director and lvs-real-server roles; nil for
// hosts with neither. Every file is written with a quoted heredoc (no shell
// expansion) whose delimiter is HeredocEnd.
type LVS struct {
	Cluster    string
	Director   *LVSDirector
	RealServer *LVSRealServer
}

// LVSFile is one file a role writes: Dir is created first, Content (ending
// in a newline) goes through a quoted heredoc, Mode is applied after.
type LVSFile struct {
	Path, Dir, Mode, Content string
}

// LVSDirector is what the lvs-director role templates write.
type LVSDirector struct {
	// Keepalived is true from OS major 7 (no piranha there).
	Keepalived bool
	Packages   []string
	// NTPServer is synced with before anything else (param ntp_server, default pool.ntp.org).
	NTPServer string
	Files     []LVSFile
	// PasswdFile is the piranha GUI password file path when one is written.
	PasswdFile string
}

// LVSRealServer is what the lvs-real-server role templates write.
type LVSRealServer struct {
	// Files put the VIPs on lo at boot: ifcfg-lo:N up to EL7, the
	// systemd unit VIPUnit from EL8 on.
	Files []LVSFile
	// VIPUnit is the unit to enable (EL8 and later with VIPs), else "".
	VIPUnit string
	// Sysctls are the ARP lines; SysctlPath is where they go: appended once
	// to /etc/sysctl.conf on EL5/6 (SysctlAppend), a sysctl.d file of its
	// own from EL7 on.
	Sysctls      []string
	SysctlPath   string
	SysctlAppend bool
}

// realServerData builds a real server's role data for OS o and its VIPs.
func realServerData(vips []lvs.VIP, o OS) (*LVSRealServer, error) {
	files, err := heredocFiles(lvs.RealServerFiles(vips, o.Major))
	if err != nil {
		return nil, err
	}
	rs := &LVSRealServer{Files: files, Sysctls: lvs.ARPSysctls(), SysctlPath: lvs.SysctlPathFor(o.Major)}
	rs.SysctlAppend = rs.SysctlPath == lvs.SysctlConf
	if len(vips) > 0 && lvs.VIPMechanismFor(o.Major) == lvs.VIPUnit {
		rs.VIPUnit = lvs.VIPUnitName
	}
	return rs, nil
}

// HeredocEnd delimits every file the LVS roles write; no rendered line may equal it.
const HeredocEnd = "NETKICK_EOF"

// ParamNTPServer names the host parameter overriding the directors' time server.
const ParamNTPServer = "ntp_server"

// gatherLVS builds the LVS role data for h, or nil when h has no LVS role.
func gatherLVS(ctx context.Context, src Source, h *inventory.Host, o OS) (*LVS, error) {
	dir, real := h.HasRole(inventory.RoleLVSDirector), h.HasRole(inventory.RoleLVSRealServer)
	if !dir && !real {
		return nil, nil
	}
	cs, ok := src.(ClusterSource)
	if !ok {
		return nil, fmt.Errorf("host %s has an LVS role, but this inventory source cannot list clusters", h.Hostname)
	}
	if h.Cluster == "" {
		// Tagged before being placed in a cluster: install the packages and
		// the ARP settings, and say in the kickstart that nothing else is set.
		out := &LVS{}
		if dir {
			d, err := directorData(nil, nil, h, o)
			if err != nil {
				return nil, err
			}
			out.Director = d
		}
		if real {
			rs, err := realServerData(nil, o)
			if err != nil {
				return nil, err
			}
			out.RealServer = rs
		}
		return out, nil
	}
	hosts, err := cs.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return nil, err
	}
	out := &LVS{Cluster: h.Cluster}
	if dir {
		c, err := cs.GetCluster(ctx, h.Cluster)
		if errors.Is(err, inventory.ErrNotFound) {
			return nil, fmt.Errorf("host %s is a director of cluster %s, which does not exist; define it (netkick lvs put FILE or PUT /api/v1/clusters/%s)", h.Hostname, h.Cluster, h.Cluster)
		}
		if err != nil {
			return nil, err
		}
		if out.Director, err = directorData(c, hosts, h, o); err != nil {
			return nil, err
		}
	}
	if real {
		clusters, err := cs.ListClusters(ctx)
		if err != nil {
			return nil, err
		}
		vips, err := lvs.RealServerVIPs(h, clusters)
		if err != nil {
			return nil, err
		}
		if out.RealServer, err = realServerData(vips, o); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// directorData builds a director's role data; c nil means the host has no
// cluster yet (packages and time sync only).
func directorData(c *inventory.Cluster, hosts []inventory.Host, h *inventory.Host, o OS) (*LVSDirector, error) {
	var files []LVSFile
	if c != nil {
		p, err := lvs.NewPlan(c, hosts)
		if err != nil {
			return nil, err
		}
		lf, err := lvs.DirectorFiles(p, h.Hostname, o.Major)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Hostname, err)
		}
		if files, err = heredocFiles(lf); err != nil {
			return nil, err
		}
	}
	d := &LVSDirector{Keepalived: lvs.UseKeepalived(o.Major), Files: files, NTPServer: "pool.ntp.org"}
	if v := h.Params[ParamNTPServer]; v != "" {
		if err := inventory.ValidateHostname(v); err != nil && inventory.ValidateIPv4(ParamNTPServer, v) != nil {
			return nil, fmt.Errorf("host %s: %s: %w", h.Hostname, ParamNTPServer, err)
		}
		d.NTPServer = v
	}
	if d.Keepalived {
		d.Packages = []string{"ipvsadm", "keepalived", "chrony"}
	} else {
		d.Packages = []string{"ipvsadm", "piranha", "httpd", "ntp"}
		if o.Major == 6 {
			d.Packages = append(d.Packages, "ntpdate") // its own package from 6 on
		}
		for _, f := range files {
			if f.Path == lvs.PiranhaPasswdPath {
				d.PasswdFile = f.Path
			}
		}
	}
	return d, nil
}

// heredocFiles checks files for their heredocs: content must end in a
// newline and no line may equal HeredocEnd.
func heredocFiles(files []lvs.File) ([]LVSFile, error) {
	var out []LVSFile
	for _, f := range files {
		if !strings.HasSuffix(f.Content, "\n") {
			return nil, fmt.Errorf("%s: content must end with a newline", f.Path)
		}
		for _, line := range strings.Split(f.Content, "\n") {
			if line == HeredocEnd {
				return nil, fmt.Errorf("%s would contain the line %s, which ends the kickstart heredoc; change the value that produced it", f.Path, HeredocEnd)
			}
		}
		out = append(out, LVSFile{Path: f.Path, Dir: path.Dir(f.Path), Mode: f.Mode, Content: f.Content})
	}
	return out, nil
}
