package testvm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/inventory"
)

// startServer imports the inventory, places the installer in the boot root,
// starts `netkick serve` inside the namespace for the scenarios it boots and
// puts every host in build mode.
func (r *rig) startServer(ctx context.Context, scenarios []Scenario) (func(), error) {
	if err := os.MkdirAll(filepath.Join(r.data, "boot"), 0o755); err != nil {
		return nil, err
	}
	if err := r.bootfiles(ctx, scenarios); err != nil {
		return nil, err
	}
	if err := installLoaders(filepath.Join(r.data, "boot")); err != nil {
		return nil, err
	}
	inv, err := yaml.Marshal(inventoryFor(Scenarios()))
	if err != nil {
		return nil, err
	}
	invFile := filepath.Join(r.opts.WorkDir, r.named("inventory")+".yaml")
	if err := os.WriteFile(invFile, inv, 0o644); err != nil {
		return nil, err
	}
	if err := r.nk.Import(ctx, invFile); err != nil {
		return nil, err
	}
	if err := r.placeInstaller(ctx); err != nil {
		return nil, err
	}
	// The guests read the inventory (for `netkick lvs apply --file`) from the report server.
	exp, err := r.nk.Export(ctx)
	if err != nil {
		return nil, err
	}
	r.sink.SetInventory(exp)
	args := []string{"serve", "--data", r.data, "--http", ServerIP + ":8080", "--public-url", "http://" + ServerIP + ":8080"}
	if r.pxe {
		cfg := filepath.Join(r.opts.WorkDir, r.named("netkick")+".yaml")
		if err := os.WriteFile(cfg, []byte(serveConfigYAML(r.net.Bridge, r.proxy)), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "--config", cfg, "--tftp", ServerIP+":69")
	} else {
		args = append(args, "--tftp", "off")
	}
	logf, err := os.Create(filepath.Join(r.opts.WorkDir, r.named("netkick-serve")+".log"))
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	cmd := r.net.Command(sctx, r.opts.Netkick, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		logf.Close()
		return nil, fmt.Errorf("start netkick serve: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() { cancel(); <-done; logf.Close() }
	deadline := time.Now().Add(20 * time.Second)
	for !r.nk.healthy() {
		select {
		case err := <-done:
			b, _ := os.ReadFile(logf.Name())
			cancel()
			return nil, fmt.Errorf("netkick serve exited: %v: %s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			b, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("netkick serve did not answer /healthz within 20s: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(r.data, "admin.token"))
	if err != nil {
		stop()
		return nil, fmt.Errorf("admin token: %w", err)
	}
	r.nk.token = strings.TrimSpace(string(tok))
	// Put every host in build mode: each gets its one-time kickstart token.
	if err := r.buildHosts(ctx); err != nil {
		stop()
		return nil, err
	}
	mode := "direct kernel boot (-kernel/-initrd, no DHCP or TFTP)"
	if r.pxe {
		mode = "PXE (netkick DHCP on " + r.net.Bridge + ", TFTP, HTTP)"
	}
	r.printf("testvm: netkick serve in netns %s on %s; boot mode: %s\n", r.net.NS, ServerIP, mode)
	return stop, nil
}

// buildHosts puts every scenario host in build mode through the API and
// keeps the kickstart URLs (with their tokens) for direct boots.
func (r *rig) buildHosts(ctx context.Context) error {
	r.ksURL = map[string]string{}
	for _, s := range Scenarios() {
		if s.Discover {
			continue // adopted, then built, in its own course
		}
		mac, err := inventory.NormalizeMAC(s.MAC)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		u, err := r.nk.Build(ctx, mac)
		if err != nil {
			return fmt.Errorf("build mode for %s (scenario %s): %w", mac, s.Name, err)
		}
		r.ksURL[mac] = u
	}
	return nil
}
