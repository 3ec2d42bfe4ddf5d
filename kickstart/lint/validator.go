package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// EnvValidator names the environment variable that points at pykickstart's
// ksvalidator: the program, its ksvalidator.py, or a pykickstart checkout.
const EnvValidator = "NETKICK_KSVALIDATOR"

// Validator is pykickstart's ksvalidator, the parser anaconda itself uses:
// either a program (the Fedora/EL package's /usr/bin/ksvalidator), or
// tools/ksvalidator.py of a checkout, run with python3 and the checkout on
// PYTHONPATH.
type Validator struct {
	// Script is the program or the .py file.
	Script string
	// PythonPath, when not empty, is the checkout holding pykickstart/;
	// Script is then run by python3.
	PythonPath string
}

// ErrNoValidator is returned by FindValidator when no ksvalidator was found.
var ErrNoValidator = errors.New("ksvalidator not found: install pykickstart (Fedora/EL package pykickstart), or point " + EnvValidator + " at ksvalidator or a pykickstart checkout")

// FindValidator looks for ksvalidator in EnvValidator (getenv reads it),
// then as `ksvalidator` on PATH, then in each of dirs (pykickstart
// checkouts), in that order. A set EnvValidator that names nothing usable
// is an error, not a fall-through.
func FindValidator(getenv func(string) string, dirs ...string) (*Validator, error) {
	if p := getenv(EnvValidator); p != "" {
		v, err := validatorAt(p)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", EnvValidator, p, err)
		}
		return v, nil
	}
	if p, err := exec.LookPath("ksvalidator"); err == nil {
		return &Validator{Script: p}, nil
	}
	for _, d := range dirs {
		if v, err := validatorAt(d); err == nil {
			return v, nil
		}
	}
	return nil, ErrNoValidator
}

// CheckoutsBeside lists where a shared pykickstart copy may sit for a
// repository at dir: shared/tools/pykickstart beside dir and beside each of
// its parents (a CI clone has ../shared next to it, a worktree further up),
// nearest first; for FindValidator's dirs.
func CheckoutsBeside(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); filepath.Dir(d) != d; d = filepath.Dir(d) {
		out = append(out, filepath.Join(filepath.Dir(d), "shared", "tools", "pykickstart"))
	}
	return out
}

// validatorAt makes a Validator of a checkout directory, a ksvalidator.py
// inside one, or a program.
func validatorAt(p string) (*Validator, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		script := filepath.Join(p, "tools", "ksvalidator.py")
		if _, err := os.Stat(filepath.Join(p, "pykickstart", "parser.py")); err != nil {
			return nil, fmt.Errorf("directory %s holds no pykickstart/parser.py", p)
		}
		if _, err := os.Stat(script); err != nil {
			return nil, fmt.Errorf("directory %s holds no tools/ksvalidator.py", p)
		}
		abs, _ := filepath.Abs(p)
		return &Validator{Script: filepath.Join(abs, "tools", "ksvalidator.py"), PythonPath: abs}, nil
	}
	abs, _ := filepath.Abs(p)
	v := &Validator{Script: abs}
	if strings.HasSuffix(p, ".py") {
		root := filepath.Dir(filepath.Dir(abs))
		if _, err := os.Stat(filepath.Join(root, "pykickstart", "parser.py")); err == nil {
			v.PythonPath = root
		} else {
			v.PythonPath = "-" // run by python3, library from the system
		}
	}
	return v, nil
}

// Command is the command line running the validator with args; a Python
// script gets python3 and, for a checkout, PYTHONPATH.
func (v *Validator) Command(ctx context.Context, args ...string) *exec.Cmd {
	if v.PythonPath == "" {
		return exec.CommandContext(ctx, v.Script, args...)
	}
	cmd := exec.CommandContext(ctx, "python3", append([]string{v.Script}, args...)...)
	cmd.Env = v.Env()
	return cmd
}

// Env is the environment to run the validator's Python in.
func (v *Validator) Env() []string {
	env := os.Environ()
	if v.PythonPath != "" && v.PythonPath != "-" {
		pp := v.PythonPath
		if old := os.Getenv("PYTHONPATH"); old != "" {
			pp += string(os.PathListSeparator) + old
		}
		env = append(env, "PYTHONPATH="+pp)
	}
	return env
}

// Check runs `ksvalidator -v version` on the kickstart in file and returns
// its findings (none when it accepted the file). Every message it prints is
// a finding: a deprecation warning today is a fatal error in the next release.
func (v *Validator) Check(ctx context.Context, version, file string) ([]Finding, error) {
	cmd := v.Command(ctx, "-v", version, file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("run ksvalidator %s: %w", v.Script, err)
	}
	if strings.Contains(out.String(), "is not supported by pykickstart") {
		return nil, fmt.Errorf("ksvalidator %s: syntax version %s unknown: %s", v.Script, version, strings.TrimSpace(out.String()))
	}
	fs := ParseValidatorOutput(out.String())
	if exit != nil && len(fs) == 0 {
		fs = append(fs, Finding{Severity: "error", Message: fmt.Sprintf("ksvalidator exited %d without a message", exit.ExitCode())})
	}
	return fs, nil
}

var (
	validatorLineRE  = regexp.MustCompile(`on line (\d+)`)
	validatorCheckRE = regexp.MustCompile(`^Checking kickstart file `)
)

// ParseValidatorOutput turns what ksvalidator printed into findings, one
// per message (paragraphs; "The following problem occurred on line N"
// joined with the message after it), each with its line when it names one.
// Every finding is an error, deprecations too: pykickstart makes them fatal
// in a later release.
func ParseValidatorOutput(out string) []Finding {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			flush()
		case validatorCheckRE.MatchString(l):
			flush()
		default:
			cur = append(cur, l)
		}
	}
	flush()
	var fs []Finding
	for i := 0; i < len(paras); i++ {
		p := paras[i]
		if strings.HasPrefix(p, "The following problem occurred on line") && i+1 < len(paras) {
			p += " " + paras[i+1]
			i++
		}
		f := Finding{Severity: "error", Message: "ksvalidator: " + p}
		if m := validatorLineRE.FindStringSubmatch(p); m != nil {
			f.Line, _ = strconv.Atoi(m[1])
		}
		fs = append(fs, f)
	}
	return fs
}
