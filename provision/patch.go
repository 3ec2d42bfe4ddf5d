package provision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// readOnly are host fields a patch may not set, with why.
var readOnly = map[string]string{
	"state":         "state moves only through build (POST /api/v1/hosts/{mac}/build) and the install report",
	"token_expires": "the build token is made by build",
	"build_token":   "the build token is made by build",
	"first_seen":    "set by the servers when the machine is seen",
	"last_seen":     "set by the servers when the machine is seen",
	"arch":          "set by DHCP from the firmware's request",
}

// ChangeFromMergePatch reads a JSON merge patch (RFC 7396) on a host
// document into a Change: a member sets that field, null clears it, an object
// under labels or params is merged key by key (null removes the key), arrays
// (macs, roles) are replaced whole. root_password, in clear, is hashed
// (SHA-512 crypt) and forgotten. Unknown and read-only members are refused.
func ChangeFromMergePatch(body []byte) (Change, error) {
	var c Change
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return c, fmt.Errorf("%w: merge patch: want a JSON object such as {\"timezone\": \"Asia/Tokyo\"}", inventory.ErrInvalid)
	}
	if dec.More() {
		return c, fmt.Errorf("%w: merge patch: one JSON object only", inventory.ErrInvalid)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var password *string
	for _, k := range keys {
		raw := doc[k]
		null := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
		if why, ok := readOnly[k]; ok {
			return c, fmt.Errorf("%w: merge patch: %s cannot be changed: %s", inventory.ErrInvalid, k, why)
		}
		var err error
		switch k {
		case "hostname":
			c.Hostname, err = patchString(k, raw, null)
		case "ip":
			c.IP, err = patchString(k, raw, null)
		case "profile":
			c.Profile, err = patchString(k, raw, null)
		case "layout":
			c.Layout, err = patchString(k, raw, null)
		case "timezone":
			c.Timezone, err = patchString(k, raw, null)
		case "cluster":
			c.Cluster, err = patchString(k, raw, null)
		case "root_password_hash":
			c.RootPasswordHash, err = patchString(k, raw, null)
		case "root_password":
			password, err = patchString(k, raw, null)
		case "macs":
			c.MACs, err = patchList(k, raw, null)
		case "roles":
			c.Roles, err = patchList(k, raw, null)
		case "labels":
			c.Labels, c.ClearLabels, err = patchMap(k, raw, null)
		case "params":
			c.Params, c.ClearParams, err = patchMap(k, raw, null)
		default:
			return c, fmt.Errorf("%w: merge patch: unknown field %q; a host has: hostname, macs, ip, profile, layout, timezone, cluster, roles, labels, params, root_password, root_password_hash", inventory.ErrInvalid, trunc(k))
		}
		if err != nil {
			return c, err
		}
	}
	if password != nil {
		if c.RootPasswordHash != nil {
			return c, fmt.Errorf("%w: merge patch: give root_password or root_password_hash, not both", inventory.ErrInvalid)
		}
		hash := ""
		if *password != "" {
			h, err := inventory.HashPassword(*password)
			if err != nil {
				return c, err
			}
			hash = h
		}
		c.RootPasswordHash = &hash
	}
	return c, nil
}

func patchString(k string, raw json.RawMessage, null bool) (*string, error) {
	s := ""
	if !null {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: merge patch: %s: want a string or null", inventory.ErrInvalid, k)
		}
	}
	return &s, nil
}

func patchList(k string, raw json.RawMessage, null bool) (*[]string, error) {
	var l []string
	if !null {
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("%w: merge patch: %s: want an array of strings or null", inventory.ErrInvalid, k)
		}
	}
	if l == nil {
		l = []string{}
	}
	return &l, nil
}

func patchMap(k string, raw json.RawMessage, null bool) (map[string]*string, bool, error) {
	if null {
		return nil, true, nil
	}
	var m map[string]*string
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false, fmt.Errorf("%w: merge patch: %s: want an object of strings (null removes a key) or null", inventory.ErrInvalid, k)
	}
	return m, false, nil
}

// ParseKeyEdits reads `k=v` (set) and `k-` (remove) edits, as `host set
// --label` and `--param` take them, into a merge map.
func ParseKeyEdits(kind string, edits []string) (map[string]*string, error) {
	if len(edits) == 0 {
		return nil, nil
	}
	out := map[string]*string{}
	for _, e := range edits {
		if k, v, ok := strings.Cut(e, "="); ok {
			if k == "" {
				return nil, fmt.Errorf("%w: --%s %q: want key=value or key-", inventory.ErrInvalid, kind, e)
			}
			out[k] = &v
			continue
		}
		if k, ok := strings.CutSuffix(e, "-"); ok && k != "" {
			out[k] = nil
			continue
		}
		return nil, fmt.Errorf("%w: --%s %q: want key=value to set or key- to remove", inventory.ErrInvalid, kind, e)
	}
	return out, nil
}

// MergePatch is c as a JSON merge patch document (the inverse of
// ChangeFromMergePatch), for sending a Change to a server.
func (c *Change) MergePatch() map[string]any {
	out := map[string]any{}
	str := func(k string, v *string) {
		if v != nil {
			if *v == "" {
				out[k] = nil
			} else {
				out[k] = *v
			}
		}
	}
	str("hostname", c.Hostname)
	str("ip", c.IP)
	str("profile", c.Profile)
	str("layout", c.Layout)
	str("timezone", c.Timezone)
	str("cluster", c.Cluster)
	str("root_password_hash", c.RootPasswordHash)
	if c.MACs != nil {
		out["macs"] = *c.MACs
	}
	if c.Roles != nil {
		out["roles"] = *c.Roles
	}
	for _, m := range []struct {
		k     string
		clear bool
		v     map[string]*string
	}{{"labels", c.ClearLabels, c.Labels}, {"params", c.ClearParams, c.Params}} {
		switch {
		case m.clear && len(m.v) == 0:
			out[m.k] = nil
		case len(m.v) > 0:
			out[m.k] = m.v
		}
	}
	return out
}
