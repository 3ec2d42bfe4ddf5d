package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/kickstart/layout"
	"github.com/netkick/netkick/provision"
)

var pageNames = []string{"login", "hosts", "host", "profiles", "layouts", "clusters", "discovered", "error"}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{"join": strings.Join}
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New(n).Option("missingkey=error").Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

// page renders a template into the base layout; data's keys are the page's.
func (w *Web) page(rw http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	data["Page"] = name
	data["User"], data["SessionCSRF"] = "", ""
	if ss := sessionOf(r); ss != nil {
		data["User"], data["SessionCSRF"] = ss.user, ss.csrf
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	if err := w.tmpl[name].ExecuteTemplate(rw, "base", data); err != nil {
		w.o.Log.Error("web: render page", "page", name, "err", err)
	}
}

// fail shows an error page with the status the API would answer.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 {
		w.o.Log.Error("web request failed", "uri", r.URL.Path, "err", err)
	}
	w.page(rw, r, status, "error", map[string]any{"Status": status, "Error": err.Error(), "Hint": provision.HintOf(err)})
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, provision.ErrStale):
		return http.StatusConflict
	case errors.Is(err, inventory.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, inventory.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, inventory.ErrConflict), errors.Is(err, provision.ErrInUse):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (w *Web) actor(r *http.Request) provision.Actor {
	return provision.Actor{Via: "web", Name: sessionOf(r).user}
}

// Row is one line of the hosts table (also what the event stream sends).
type Row struct {
	MAC      string   `json:"mac"`
	Hostname string   `json:"hostname"`
	MACs     string   `json:"macs"`
	IP       string   `json:"ip"`
	Profile  string   `json:"profile"`
	Roles    string   `json:"roles"`
	Labels   []string `json:"labels"`
	State    string   `json:"state"`
	Last     string   `json:"last"`
	// LastTime is RFC 3339 (the script ages it); Age is as rendered.
	LastTime string `json:"last_time"`
	Age      string `json:"age"`
	LastID   int64  `json:"-"`
}

// lastEvent is the newest entry of a host's timeline (zero when none).
func (w *Web) lastEvent(r *http.Request, id string) (inventory.Event, error) {
	ev, err := w.o.Prov.Store().Events(r.Context(), id, 1)
	if err != nil || len(ev) == 0 {
		return inventory.Event{}, err
	}
	return slices.MaxFunc(ev, func(a, b inventory.Event) int { return int(a.ID - b.ID) }), nil
}

func (w *Web) row(r *http.Request, h *inventory.Host) (Row, error) {
	labels := make([]string, 0, len(h.Labels))
	for k, v := range h.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	row := Row{MAC: h.ID(), Hostname: h.Hostname, MACs: strings.Join(h.MACs, " "), IP: h.IP, Profile: h.Profile,
		Roles: strings.Join(h.Roles, " "), Labels: labels, State: string(h.State)}
	ev, err := w.lastEvent(r, h.ID())
	if err != nil {
		return row, err
	}
	if ev.ID != 0 {
		row.LastID = ev.ID
		row.Last = ev.Kind + ": " + firstLine(inventory.EscapeControl(ev.Detail, true))
		row.LastTime = ev.Time.UTC().Format(time.RFC3339)
		row.Age = age(w.o.Now().Sub(ev.Time))
	}
	return row, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// age says how long ago, coarsely: 12s, 5m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(max(d, 0)/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

// hostQuery reads the hosts table's filters from the URL.
func hostQuery(v url.Values, perPage int) provision.HostQuery {
	page, _ := strconv.Atoi(v.Get("page"))
	q := provision.HostQuery{State: inventory.State(v.Get("state")), Role: v.Get("role"), Label: v.Get("label"), Text: v.Get("q"),
		Sort: v.Get("sort"), Page: page, PerPage: perPage}
	if !provision.CheckSort(q.Sort) {
		q.Sort = ""
	}
	return q
}

type sortLink struct {
	Key, Title, URL, Mark string
}

func (w *Web) hostsPage(rw http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := hostQuery(v, w.o.PerPage)
	all, err := w.o.Prov.AllHosts(r.Context())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := provision.QueryHosts(all, q)
	rows := make([]Row, 0, len(p.Hosts))
	var macs []string
	for i := range p.Hosts {
		row, err := w.row(r, &p.Hosts[i])
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		rows = append(rows, row)
		macs = append(macs, row.MAC)
	}
	with := func(k, val string) string {
		u := url.Values{}
		for kk, vv := range v {
			u[kk] = vv
		}
		if val == "" {
			u.Del(k)
		} else {
			u.Set(k, val)
		}
		if k != "page" {
			u.Del("page")
		}
		return "/?" + u.Encode()
	}
	var sorts []sortLink
	cur := q.Sort
	if cur == "" {
		cur = "hostname"
	}
	for _, k := range provision.SortKeys {
		s := sortLink{Key: k, Title: strings.ToUpper(k[:1]) + k[1:], URL: with("sort", k)}
		if k == "ip" {
			s.Title = "IP"
		}
		if k == "mac" {
			s.Title = "MACs"
		}
		switch cur {
		case k:
			s.Mark, s.URL = "▲", with("sort", "-"+k)
		case "-" + k:
			s.Mark = "▼"
		}
		sorts = append(sorts, s)
	}
	type count struct {
		State string
		N     int
		URL   string
	}
	var counts []count
	for _, st := range inventory.States() {
		counts = append(counts, count{State: string(st), N: p.States[st], URL: with("state", string(st))})
	}
	data := map[string]any{"Rows": rows, "Total": p.Total, "All": len(all), "PageNo": p.Page, "Pages": p.Pages, "Counts": counts,
		"Sorts": sorts, "States": inventory.States(), "Q": q, "Watch": strings.Join(macs, ","), "Prev": "", "Next": ""}
	if p.Page > 1 {
		data["Prev"] = with("page", strconv.Itoa(p.Page-1))
	}
	if p.Page < p.Pages {
		data["Next"] = with("page", strconv.Itoa(p.Page+1))
	}
	w.page(rw, r, http.StatusOK, "hosts", data)
}

// Tabs are what a host would be served, as `netkick render` prints them, and its layout's plan.
var renderTabs = []string{"kickstart", "pxelinux", "ipxe", "grub"}

func (w *Web) hostPage(rw http.ResponseWriter, r *http.Request) {
	w.showHost(rw, r, http.StatusOK, r.PathValue("key"), "", r.URL.Query().Get("done"))
}

// showHost renders a host's page, with an error banner (a refused change) or a notice.
func (w *Web) showHost(rw http.ResponseWriter, r *http.Request, status int, key, problem, notice string) {
	ctx := r.Context()
	h, err := w.o.Prov.Store().GetHost(ctx, key)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	events, err := w.o.Prov.Store().Events(ctx, h.ID(), 0)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	type ev struct {
		ID                 int64
		Time, Kind, Detail string
	}
	var timeline []ev
	var lastID int64
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		lastID = max(lastID, e.ID)
		timeline = append(timeline, ev{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339), Kind: e.Kind, Detail: inventory.EscapeControl(e.Detail, true)})
	}
	tab := r.URL.Query().Get("tab")
	if tab != "layout" && !slices.Contains(renderTabs, tab) {
		tab = "kickstart"
	}
	var body []byte
	var plan *layout.Table
	disks := r.URL.Query().Get("disks")
	if disks == "" {
		disks = h.Labels["disks"]
	}
	if disks == "" {
		disks = "500G"
	}
	layoutName := h.Layout
	var tabErr string
	if tab == "layout" {
		plan, layoutName, err = w.plan(r, h, disks)
	} else {
		body, err = w.o.Render(ctx, tab, h.ID(), r)
	}
	if err != nil {
		tabErr = err.Error()
	}
	labels := make([]string, 0, len(h.Labels))
	for k, v := range h.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	// The power buttons need BMC settings; without them the page says how to set them.
	bmc, err := w.o.Prov.GetBMC(ctx, h.ID())
	bmcProblem := ""
	if err != nil {
		bmc, bmcProblem = nil, err.Error()
		if hint := provision.HintOf(err); hint != "" {
			bmcProblem += ": " + hint
		}
	}
	w.page(rw, r, status, "host", map[string]any{"H": h, "MAC": h.ID(), "ETag": provision.ETag(h), "Labels": strings.Join(labels, "\n"),
		"Timeline": timeline, "LastID": lastID, "Tabs": append(slices.Clone(renderTabs), "layout"), "Tab": tab, "Body": string(body),
		"Plan": plan, "Disks": disks, "LayoutName": layoutName, "TabError": tabErr, "Problem": problem, "Notice": notice,
		"BMC": bmc, "BMCProblem": bmcProblem})
}

// plan is the host's layout on the given disks ("500G+1T"), as `netkick layout plan` shows it.
func (w *Web) plan(r *http.Request, h *inventory.Host, disks string) (*layout.Table, string, error) {
	name := h.Layout
	if name == "" && h.Profile != "" {
		if p, err := w.o.Prov.Store().GetProfile(r.Context(), h.Profile); err == nil {
			name = p.Layout
		}
	}
	if name == "" {
		return nil, "", fmt.Errorf("host %s names no layout (nor does its profile): set one with `netkick host set %s --layout NAME`", h.Hostname, h.Hostname)
	}
	l, err := kickstart.FindLayout(r.Context(), w.o.Prov.Store(), name)
	if err != nil {
		return nil, name, err
	}
	var ds []layout.Disk
	for i, d := range strings.Split(disks, "+") {
		n, err := inventory.ParseMiB(strings.TrimSpace(d))
		if err != nil {
			return nil, name, fmt.Errorf("disks %q: %w (give sizes such as 500G+1T)", disks, err)
		}
		ds = append(ds, layout.Disk{Name: fmt.Sprintf("sd%c", 'a'+i), SizeMiB: n})
	}
	fw := layout.FirmwareBIOS
	if strings.HasPrefix(h.Arch, "efi") {
		fw = layout.FirmwareUEFI
	}
	t, err := layout.Plan(l, ds, 4096, fw)
	return t, name, err
}

// afterChange shows the host again: a refused change keeps the page with the reason.
func (w *Web) afterChange(rw http.ResponseWriter, r *http.Request, h *inventory.Host, err error, notice string) {
	key := r.PathValue("key")
	switch {
	case errors.Is(err, provision.ErrStale):
		w.showHost(rw, r, http.StatusConflict, key, "Conflict: this host was changed by someone else since you opened the page, so your change was not saved. The page now shows the current version; make your change again.", "")
	case err != nil:
		status := statusOf(err)
		if status == http.StatusNotFound || status >= 500 {
			w.fail(rw, r, err)
			return
		}
		msg := err.Error()
		if hint := provision.HintOf(err); hint != "" {
			msg += " (" + hint + ")"
		}
		w.showHost(rw, r, status, key, msg, "")
	default:
		http.Redirect(rw, r, "/hosts/"+url.PathEscape(h.ID())+"?done="+url.QueryEscape(notice), http.StatusSeeOther)
	}
}

func (w *Web) editHost(rw http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	str := func(k string) *string { s := strings.TrimSpace(f.Get(k)); return &s }
	ch := provision.Change{IP: str("ip"), Profile: str("profile"), Layout: str("layout"), Timezone: str("timezone"), Cluster: str("cluster"),
		ClearLabels: true, Labels: map[string]*string{}}
	for _, line := range strings.Split(f.Get("labels"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			w.afterChange(rw, r, nil, fmt.Errorf("%w: label %q: write key=value, one per line", inventory.ErrInvalid, line), "")
			return
		}
		v = strings.TrimSpace(v)
		ch.Labels[strings.TrimSpace(k)] = &v
	}
	h, err := w.o.Prov.Set(r.Context(), w.actor(r), r.PathValue("key"), ch, f.Get("etag"))
	w.afterChange(rw, r, h, err, "saved")
}

func (w *Web) rolesHost(rw http.ResponseWriter, r *http.Request) {
	role := strings.TrimSpace(r.PostFormValue("role"))
	var add, remove []string
	if role == "" {
		w.afterChange(rw, r, nil, fmt.Errorf("%w: no role named: type a role such as lvs-real-server", inventory.ErrInvalid), "")
		return
	}
	op := r.PostFormValue("op")
	switch op {
	case "tag":
		add = []string{role}
	case "untag":
		remove = []string{role}
	default:
		w.afterChange(rw, r, nil, fmt.Errorf("%w: op %q: want tag or untag", inventory.ErrInvalid, op), "")
		return
	}
	h, err := w.o.Prov.Roles(r.Context(), w.actor(r), r.PathValue("key"), add, remove, r.PostFormValue("etag"))
	w.afterChange(rw, r, h, err, op+"ged "+role)
}

func (w *Web) buildHost(rw http.ResponseWriter, r *http.Request) {
	h, err := w.o.Prov.Build(r.Context(), w.actor(r), r.PathValue("key"), 0)
	w.afterChange(rw, r, h, err, "in build mode")
}

func (w *Web) cancelBuild(rw http.ResponseWriter, r *http.Request) {
	h, err := w.o.Prov.CancelBuild(r.Context(), w.actor(r), r.PathValue("key"))
	state := ""
	if h != nil {
		state = string(h.State)
	}
	w.afterChange(rw, r, h, err, "build cancelled; back to "+state)
}

// powerHost runs a power action through the BMC, as `netkick host power` does.
func (w *Web) powerHost(rw http.ResponseWriter, r *http.Request) {
	action := r.PostFormValue("action")
	res, err := w.o.Prov.Power(r.Context(), w.actor(r), r.PathValue("key"), action)
	notice := "power " + action
	if res != nil && res.State != "" {
		notice = "power state " + res.State
	}
	w.afterPower(rw, r, res, err, notice)
}

// reinstallHost puts the host in build mode and boots it from the network, as `netkick host reinstall` does.
func (w *Web) reinstallHost(rw http.ResponseWriter, r *http.Request) {
	res, err := w.o.Prov.Reinstall(r.Context(), w.actor(r), r.PathValue("key"), 0)
	notice := "reinstall"
	if res != nil && len(res.Steps) > 0 {
		notice += ": " + strings.Join(res.Steps, "; ")
	}
	w.afterPower(rw, r, res, err, notice)
}

// afterPower shows the host after a power request. A BMC that failed (it
// refused, did not answer, or the password is wrong) is 502 with the steps
// done so far, as the API answers; refusals of the request keep their status.
func (w *Web) afterPower(rw http.ResponseWriter, r *http.Request, res *provision.PowerResult, err error, notice string) {
	var pe *provision.Error
	if err != nil && res != nil && !errors.As(err, &pe) {
		msg := "The BMC failed: " + err.Error()
		if len(res.Steps) > 0 {
			msg += " (done before: " + strings.Join(res.Steps, "; ") + ")"
		}
		w.showHost(rw, r, http.StatusBadGateway, r.PathValue("key"), msg, "")
		return
	}
	var h *inventory.Host
	if err == nil {
		h = &inventory.Host{MACs: []string{res.Host}}
	}
	w.afterChange(rw, r, h, err, notice)
}

func (w *Web) profilesPage(rw http.ResponseWriter, r *http.Request) {
	ps, err := w.o.Prov.Store().ListProfiles(r.Context())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.page(rw, r, http.StatusOK, "profiles", map[string]any{"Profiles": ps})
}

func (w *Web) layoutsPage(rw http.ResponseWriter, r *http.Request) {
	ls, err := w.o.Prov.Store().ListLayouts(r.Context())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	have := map[string]bool{}
	for _, l := range ls {
		have[l.Name] = true
	}
	for _, n := range layout.BuiltinNames() {
		if b, ok := layout.Builtin(n); ok && !have[n] {
			ls = append(ls, *b)
		}
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	w.page(rw, r, http.StatusOK, "layouts", map[string]any{"Layouts": ls})
}

func (w *Web) clustersPage(rw http.ResponseWriter, r *http.Request) {
	cs, err := w.o.Prov.Store().ListClusters(r.Context())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	hosts, err := w.o.Prov.AllHosts(r.Context())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	members := map[string][]inventory.Host{}
	for _, h := range hosts {
		if h.Cluster != "" {
			members[h.Cluster] = append(members[h.Cluster], h)
		}
	}
	w.page(rw, r, http.StatusOK, "clusters", map[string]any{"Clusters": cs, "Members": members})
}

// discoveredRow is one discovered machine as the page shows it.
type discoveredRow struct {
	inventory.Discovered
	LastSeen string
	// Hardware summarises the reported facts; Suggest is the DHCP hostname when it is a valid one.
	Hardware, Suggest string
}

func (w *Web) discoveredPage(rw http.ResponseWriter, r *http.Request) {
	w.showDiscovered(rw, r, http.StatusOK, "")
}

// showDiscovered lists the discovered machines, the most recently seen first, with an error banner (a refused adoption).
func (w *Web) showDiscovered(rw http.ResponseWriter, r *http.Request, status int, problem string) {
	ds, err := w.o.Prov.ListDiscovered(r.Context())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	rows := make([]discoveredRow, 0, len(ds))
	for _, d := range ds {
		row := discoveredRow{Discovered: d, LastSeen: d.LastSeen.UTC().Format(time.RFC3339), Hardware: "no facts reported yet"}
		if f := d.Facts; f != nil {
			row.Hardware = fmt.Sprintf("%d CPUs, %s RAM, %d disks, %d NICs", f.CPU.Count, inventory.HumanBytes(f.MemoryBytes), len(f.Disks), len(f.NICs))
			if f.DMI.Vendor != "" || f.DMI.Product != "" {
				row.Hardware += "; " + strings.TrimSpace(f.DMI.Vendor+" "+f.DMI.Product)
			}
		}
		if inventory.ValidateHostname(d.Hostname) == nil {
			row.Suggest = d.Hostname
		}
		rows = append(rows, row)
	}
	w.page(rw, r, status, "discovered", map[string]any{"Machines": rows, "Problem": problem})
}

// adoptDiscovered makes a discovered machine a host, as `netkick host adopt` does.
func (w *Web) adoptDiscovered(rw http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	o := provision.AdoptOptions{Hostname: strings.TrimSpace(f.Get("hostname")), Profile: strings.TrimSpace(f.Get("profile")),
		Roles: strings.Fields(f.Get("roles"))}
	h, err := w.o.Prov.Adopt(r.Context(), w.actor(r), r.PathValue("mac"), o)
	if err != nil {
		status := statusOf(err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		msg := err.Error()
		if hint := provision.HintOf(err); hint != "" {
			msg += " (" + hint + ")"
		}
		w.showDiscovered(rw, r, status, msg)
		return
	}
	http.Redirect(rw, r, "/hosts/"+url.PathEscape(h.ID())+"?done="+url.QueryEscape("adopted from the discovered machines"), http.StatusSeeOther)
}
