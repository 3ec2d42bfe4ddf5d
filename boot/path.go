package boot

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrBadPath is wrapped by CleanPath when a requested boot file name is refused.
var ErrBadPath = errors.New("refused boot file name")

// MaxPathLen bounds a requested boot file name, in bytes.
const MaxPathLen = 1024

// CleanPath decides whether a file name asked for by a TFTP or HTTP client
// may be looked up in the boot root, and returns it cleaned: slash-separated,
// relative to the root, without "." elements or repeated slashes.
//
// Refused, whatever they would resolve to: empty names, names longer than
// MaxPathLen, absolute names, any ".." element, backslashes, NUL and other
// control characters, and names that name the root itself. Symbolic links are
// not this function's business: the caller opens the result with os.Root,
// which refuses links that leave the root.
func CleanPath(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty name; ask for a file under the boot root such as pxelinux.0", ErrBadPath)
	}
	if len(name) > MaxPathLen {
		return "", fmt.Errorf("%w: name is %d bytes, the limit is %d", ErrBadPath, len(name), MaxPathLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == 0:
			return "", fmt.Errorf("%w: %q contains a NUL byte", ErrBadPath, shorten(name))
		case c == '\\':
			return "", fmt.Errorf("%w: %q contains a backslash; use '/' between directories", ErrBadPath, shorten(name))
		case c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("%w: %q contains a control character", ErrBadPath, shorten(name))
		}
	}
	if name[0] == '/' {
		return "", fmt.Errorf("%w: %q is absolute; names are relative to the boot root (drop the leading '/')", ErrBadPath, shorten(name))
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: %q has a '..' element; names must stay inside the boot root", ErrBadPath, shorten(name))
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", fmt.Errorf("%w: %q names the boot root itself, not a file", ErrBadPath, shorten(name))
	}
	return c, nil
}

// shorten keeps error messages bounded when a client sends a huge name.
func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// TFTPName turns a name asked for over TFTP into one for CleanPath: TFTP
// names are relative to the server's root, as tftpd-hpa's --secure has
// them, and GRUB asks for its prefix with a leading slash
// ("/grub/grub.cfg"), so leading slashes are dropped. Whatever follows is
// still refused or confined by CleanPath and the boot root.
func TFTPName(name string) string {
	return strings.TrimLeft(name, "/")
}
