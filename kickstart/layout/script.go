package layout

import (
	"fmt"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// ScriptOptions tune the %pre section PreScript writes.
type ScriptOptions struct {
	// Firmware is FirmwareBIOS, FirmwareUEFI, or FirmwareAuto/"" to decide at
	// install time by looking for /sys/firmware/efi.
	Firmware Firmware
	// OmitEnd leaves out the closing %end (CentOS/RHEL 5 kickstarts have none).
	OmitEnd bool
	// ErrorOnFail adds --erroronfail to the %pre line (RHEL 6 and later), so
	// anaconda stops with the script's message when the layout does not fit.
	// Without it anaconda still stops: the %include file is only written on success.
	ErrorOnFail bool
}

// shq quotes s for POSIX sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// planDiskSh is the shell twin of planDisk. Keep the two in step: the tests
// run both and compare the tables to the MiB.
const planDiskSh = `# plan_disk N NAME TOTAL LABEL SLOT...
#   SLOT is ROLE,NAME,MOUNT,FSTYPE,SIZE: ROLE p (msdos primary), l (msdos
#   logical) or g (gpt); NAME is parted's first mkpart word; SIZE is MiB,
#   grow, share:N, ram or ram:CAP. Usable space is [1, TOTAL-1) MiB; every
#   logical partition is preceded by 1 MiB for its EBR; grow and share
#   partitions split what the others leave, the last taking the remainder.
#   Sets ARGS<N> (the parted command line) and appends the part lines to
#   PARTS. Writes nothing: every disk is planned before any is touched.
mib() {
	case $1 in
	ram) sz=$RAM ;;
	ram:*)
		sz=${1#ram:}
		if [ "$RAM" -lt "$sz" ]; then sz=$RAM; fi ;;
	*) sz=$1 ;;
	esac
}
plan_disk() {
	n=$1 name=$2 total=$3 label=$4
	shift 4
	end=$((total - 1))
	fixed=0 shares=0 flex=0 ebr=0
	for s in "$@"; do
		role=${s%%,*} size=${s##*,}
		case $size in
		grow) shares=$((shares + 1)) flex=$((flex + 1)) ;;
		share:*) shares=$((shares + ${size#share:})) flex=$((flex + 1)) ;;
		*) mib "$size"; fixed=$((fixed + sz)) ;;
		esac
		if [ "$role" = l ]; then ebr=$((ebr + 1)); fi
	done
	avail=$((end - 1 - fixed - ebr))
	if [ "$avail" -lt "$shares" ]; then
		fail "layout $LAYOUT does not fit disk $name ($total MiB): short by $((shares - avail)) MiB"
	fi
	dev=$name
	case $name in *[0-9]) dev=${name}p ;; esac
	args="unit MiB mklabel $label"
	pos=1 num=0 lnum=4 left=$avail
	for s in "$@"; do
		role=${s%%,*} r=${s#*,}
		pname=${r%%,*} r=${r#*,}
		mount=${r%%,*} r=${r#*,}
		fs=${r%%,*} size=${r#*,}
		case $size in
		grow | share:*)
			w=1
			case $size in share:*) w=${size#share:} ;; esac
			flex=$((flex - 1))
			if [ "$flex" -eq 0 ]; then sz=$left; else sz=$((avail * w / shares)); fi
			left=$((left - sz)) ;;
		*) mib "$size" ;;
		esac
		if [ "$role" = l ]; then
			if [ "$lnum" -eq 4 ]; then
				num=$((num + 1))
				args="$args mkpart extended $pos $end"
			fi
			lnum=$((lnum + 1)) pn=$lnum pos=$((pos + 1))
		else
			num=$((num + 1)) pn=$num
		fi
		case $fs in
		swap) pfs=linux-swap ;;
		efi | vfat) pfs=fat32 ;;
		biosboot) pfs= ;;
		*) pfs=$fs ;;
		esac
		args="$args mkpart $pname $pfs $pos $((pos + sz))"
		case $fs in
		efi) args="$args set $pn esp on" ;;
		biosboot) args="$args set $pn bios_grub on" ;;
		esac
		pos=$((pos + sz))
		if [ "$fs" = swap ]; then
			PARTS="${PARTS}part swap --onpart=$dev$pn
"
		else
			PARTS="${PARTS}part $mount --fstype=$fs --onpart=$dev$pn
"
		fi
	done
	eval "ARGS$n=\$args"
}
`

// PreScript writes the whole %pre section for layout l: a POSIX sh script
// (BusyBox ash safe) that finds the drives with list-harddrives, reads the
// RAM from /proc/meminfo, applies the layout's rules, plans every disk, stops
// with one line naming the layout, disk and shortfall when it does not fit
// (before writing anything), then wipes the labels, partitions with parted
// (1 MiB aligned) and writes the part lines to IncludeFile.
func PreScript(l *inventory.Layout, opts ScriptOptions) (string, error) {
	if err := Validate(l); err != nil {
		return "", err
	}
	fw := opts.Firmware
	if fw == "" {
		fw = FirmwareAuto
	}
	if fw != FirmwareBIOS && fw != FirmwareUEFI && fw != FirmwareAuto {
		return "", fmt.Errorf("layout %s: firmware %q: want bios, uefi or auto", l.Name, fw)
	}
	flat := flatten(l)
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	w("%%pre --interpreter=/bin/sh")
	if opts.ErrorOnFail {
		w(" --erroronfail")
	}
	w("\n# netkick disk layout %s (generated; `netkick layout plan %s --disk SIZE` prints the same table).\n", l.Name, l.Name)
	w("LAYOUT=%s\nOUT=%s\n", shq(l.Name), shq(IncludeFile))
	w(`rm -f "$OUT" "$OUT.new"
fail() {
	echo "netkick: $*" >&2
	exit 1
}
# Drives, as anaconda's list-harddrives prints them: NAME SIZE-IN-MiB pairs.
drives=$(list-harddrives)
# Split into words on purpose: NAME SIZE pairs become $1 $2 $3 $4.
set -- $drives
if [ $# -lt 2 ]; then fail "layout $LAYOUT: no hard drive found (list-harddrives printed nothing)"; fi
D1=$1 T1=${2%%%%.*} D2='' T2=0
if [ $# -ge 4 ]; then D2=$3 T2=${4%%%%.*}; fi
for t in "$T1" "$T2"; do
	case $t in '' | *[!0-9]*) fail "layout $LAYOUT: list-harddrives printed a size that is not a number: $*" ;; esac
done
RAM=0
while read -r key val _; do
	if [ "$key" = MemTotal: ]; then RAM=$((val / 1024)); fi
done </proc/meminfo
`)
	if usesRAM(l) {
		w(`if [ "$RAM" -le 0 ]; then fail "layout $LAYOUT: MemTotal not found in /proc/meminfo; a swap sized by RAM needs it"; fi
`)
	}
	switch fw {
	case FirmwareAuto:
		w("FW=bios\nif [ -d /sys/firmware/efi ]; then FW=uefi; fi\n")
	default:
		w("# firmware: %s (from the host's DHCP architecture)\n", fw)
	}

	w("# Sizes, one per partition of the layout, then the rules in order.\n")
	for i, f := range flat {
		w("Z%d=%s # %s on disk %s\n", i, shSize(f.size), f.mount, diskUse(f.disk))
	}
	for i, r := range l.Rules {
		w("if %s; then", ruleCond(r))
		for _, m := range sortedKeys(r.Set) {
			for j, f := range flat {
				if f.mount == m {
					w(" Z%d=%s", j, shSize(r.Set[m]))
				}
			}
		}
		w("; fi # rule %d\n", i+1)
	}
	b.WriteString(planDiskSh)

	fws := []Firmware{fw}
	if fw == FirmwareAuto {
		fws = []Firmware{FirmwareBIOS, FirmwareUEFI}
	}
	seconds := []bool{false}
	if hasSecond(l) {
		seconds = []bool{true, false}
	}
	w("PARTS=\nNDISKS=0\n")
	// One branch per scenario: firmware, second disk used or not, and, for
	// msdos layouts, which disks are past msdos's 2 TiB reach (they get gpt).
	type scenario struct {
		cond []string
		sec  bool
		fw   Firmware
		big  [2]bool
	}
	var scens []scenario
	for _, f := range fws {
		for _, sec := range seconds {
			bigs := [][2]bool{{false, false}}
			if labelFor(l, f) == "msdos" {
				bigs = [][2]bool{{false, false}, {true, false}}
				if sec {
					bigs = append(bigs, [2]bool{false, true}, [2]bool{true, true})
				}
			}
			for _, big := range bigs {
				var c []string
				if len(fws) > 1 {
					c = append(c, fmt.Sprintf(`[ "$FW" = %s ]`, f))
				}
				if len(seconds) > 1 {
					c = append(c, map[bool]string{true: `[ -n "$D2" ]`, false: `[ -z "$D2" ]`}[sec])
				}
				if len(bigs) > 1 {
					for i := range 2 {
						if i == 1 && !sec {
							continue
						}
						op := map[bool]string{true: "-gt", false: "-le"}[big[i]]
						c = append(c, fmt.Sprintf(`[ "$T%d" %s %d ]`, i+1, op, msdosMaxMiB+1))
					}
				}
				scens = append(scens, scenario{cond: c, sec: sec, fw: f, big: big})
			}
		}
	}
	for i, sc := range scens {
		indent := ""
		if len(scens) > 1 {
			indent = "\t"
			switch {
			case i == 0:
				w("if %s; then\n", strings.Join(sc.cond, " && "))
			case i < len(scens)-1:
				w("elif %s; then\n", strings.Join(sc.cond, " && "))
			default:
				w("else # %s\n", strings.Join(sc.cond, " && "))
			}
		}
		shapes, err := shape(l, sc.sec, sc.fw, sc.big)
		if err != nil {
			return "", fmt.Errorf("layout %s: %w", l.Name, err)
		}
		for di, sd := range shapes {
			w("%splan_disk %d \"$D%d\" \"$T%d\" %s", indent, di+1, di+1, di+1, sd.label)
			for _, s := range sd.slots {
				size := shSize(s.size)
				if s.src >= 0 {
					size = fmt.Sprintf("$Z%d", s.src)
				}
				w(" \"%c,%s,%s,%s,%s\"", s.role, s.name, s.mount, s.fstype, size)
			}
			w("\n")
		}
		w("%sNDISKS=%d\n", indent, len(shapes))
	}
	if len(scens) > 1 {
		w("fi\n")
	}
	w(`# Every disk fits: wipe the old labels and write the new tables.
i=0
while [ "$i" -lt "$NDISKS" ]; do
	i=$((i + 1))
	eval "name=\$D$i total=\$T$i args=\$ARGS$i"
	dd if=/dev/zero of="/dev/$name" bs=512 count=2048 conv=notrunc 2>/dev/null || fail "layout $LAYOUT: cannot wipe /dev/$name"
	dd if=/dev/zero of="/dev/$name" bs=512 count=2048 seek=$(((total - 1) * 2048)) conv=notrunc 2>/dev/null
	parted -s "/dev/$name" $args || fail "layout $LAYOUT: parted could not write the table of /dev/$name: parted -s /dev/$name $args"
done
{
	echo "# disk layout $LAYOUT, written by the netkick %%pre"
	printf '%%s' "$PARTS"
} >"$OUT.new" && mv "$OUT.new" "$OUT" || fail "layout $LAYOUT: cannot write $OUT"
`)
	if !opts.OmitEnd {
		w("%%end\n")
	}
	return b.String(), nil
}

// shSize is a size as plan_disk reads it: MiB as plain numbers.
func shSize(s inventory.Size) string {
	switch s.Kind {
	case inventory.SizeFixed:
		return fmt.Sprint(s.MiB)
	case inventory.SizeRAM:
		if s.MiB > 0 {
			return fmt.Sprintf("ram:%d", s.MiB)
		}
		return "ram"
	}
	return s.String()
}

// ruleCond is the shell test for a rule.
func ruleCond(r inventory.LayoutRule) string {
	var c []string
	switch r.Second {
	case "present":
		c = append(c, `[ -n "$D2" ]`)
	case "absent":
		c = append(c, `[ -z "$D2" ]`)
	}
	v := "$T1"
	if r.Disk == inventory.DiskSecondIfPresent {
		c = append(c, `[ -n "$D2" ]`)
		v = "$T2"
	}
	if r.MinMiB > 0 {
		c = append(c, fmt.Sprintf(`[ "%s" -ge %d ]`, v, r.MinMiB))
	}
	if r.BelowMiB > 0 {
		c = append(c, fmt.Sprintf(`[ "%s" -lt %d ]`, v, r.BelowMiB))
	}
	if len(c) == 0 {
		return ":"
	}
	return strings.Join(c, " && ")
}

func diskUse(i int) string {
	if i == 1 {
		return inventory.DiskSecondIfPresent
	}
	return inventory.DiskFirst
}

// usesRAM reports whether any size of the layout (or of its rules) is ram.
func usesRAM(l *inventory.Layout) bool {
	for _, d := range l.Disks {
		for _, p := range d.Partitions {
			if p.Size.Kind == inventory.SizeRAM {
				return true
			}
		}
	}
	for _, r := range l.Rules {
		for _, s := range r.Set {
			if s.Kind == inventory.SizeRAM {
				return true
			}
		}
	}
	return false
}
