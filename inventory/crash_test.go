package inventory

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as a writer process for the crash test: with
// NETKICK_CRASH_WRITER set it writes hosts forever, printing each MAC after
// PutHost returned (acknowledged), until it is killed.
func TestMain(m *testing.M) {
	if path := os.Getenv("NETKICK_CRASH_WRITER"); path != "" {
		s, err := OpenSQLite(path)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(3)
		}
		for i := 0; ; i++ {
			mac := fmt.Sprintf("02:00:00:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff)
			if err := s.PutHost(context.Background(), &Host{MACs: []string{mac}, Hostname: fmt.Sprintf("h%d", i)}); err != nil {
				fmt.Println("put:", err)
				os.Exit(3)
			}
			fmt.Println("ack", mac)
		}
	}
	os.Exit(m.Run())
}

// TestKill9LosesNoAcknowledgedWrite kills a writer mid-stream with SIGKILL and
// checks that every write it acknowledged is in the reopened database.
func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NETKICK_CRASH_WRITER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var acked []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		mac, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			t.Fatalf("writer: %s", line)
		}
		acked = append(acked, mac)
		if len(acked) == 300 || time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 10 {
		t.Fatalf("writer acknowledged only %d writes", len(acked))
	}
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	for _, mac := range acked {
		if _, err := s.GetHost(context.Background(), mac); err != nil {
			t.Fatalf("acknowledged host %s lost after kill -9: %v", mac, err)
		}
	}
	t.Logf("%d acknowledged writes survived kill -9", len(acked))
}
