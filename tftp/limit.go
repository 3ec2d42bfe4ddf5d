package tftp

import (
	"golang.org/x/sys/unix"
)

// The figures behind MaxTransfersFor.
const (
	// FallbackMaxTransfers is the bound on concurrent transfers when neither
	// the descriptor limit nor the memory can be read.
	FallbackMaxTransfers = 1024
	// MinMaxTransfers and MaxMaxTransfers clamp the derived bound: below
	// 64 a rack cannot boot at once, above 16,384 the bound no longer
	// protects anything a real segment can send.
	MinMaxTransfers = 64
	MaxMaxTransfers = 16384
	// FDsPerTransfer is what a running transfer holds: its own UDP socket
	// (the library opens one per transfer) and the open boot file.
	FDsPerTransfer = 2
	// MemPerTransfer is an upper estimate of the memory one running
	// transfer holds (goroutines, the library's buffers, the read buffer,
	// the socket's bookkeeping); TestTransferMemory measures it.
	MemPerTransfer = 64 << 10
	// fdReserve is left to everything else before TFTP's share is taken
	// (DHCP sockets, the store's files, listeners, logs); httpd keeps the
	// same reserve when it derives its connection cap.
	fdReserve = 256
	// memShare is the fraction (1/memShare) of memory transfers may take.
	memShare = 16
)

// MaxTransfersFor decides the default bound on concurrent transfers from
// the hard RLIMIT_NOFILE (nofile) and the memory the process may use
// (mem, bytes): TFTP may hold half of the descriptors past the reserve (the
// other half are HTTP's, whose cap is derived from what TFTP leaves) at
// FDsPerTransfer each, and 1/16 of memory at MemPerTransfer each; the
// smaller of the two, clamped to MinMaxTransfers..MaxMaxTransfers. A zero
// input is unknown and does not bound; both unknown gives
// FallbackMaxTransfers.
//
// Over the bound a request is answered busy at once rather than held for a
// slot: a PXE ROM retransmits an unanswered RRQ within a second or two, and
// each retransmission would start a second transfer on a new port that the
// client, already bound to the first, ignores until its retries run out,
// holding a slot all that time. Known hosts are served first through
// admitTransfer's reserve instead.
func MaxTransfersFor(nofile, mem uint64) int {
	if nofile == 0 && mem == 0 {
		return FallbackMaxTransfers
	}
	n := uint64(MaxMaxTransfers)
	if nofile > 0 {
		byFD := uint64(0)
		if nofile > fdReserve {
			byFD = (nofile - fdReserve) / 2 / FDsPerTransfer
		}
		n = min(n, byFD)
	}
	if mem > 0 {
		n = min(n, mem/memShare/MemPerTransfer)
	}
	return int(max(n, MinMaxTransfers))
}

// admitTransfer decides whether a request may start a transfer with running
// transfers already going under the bound max. A known host (one the
// inventory has, by its lease or the config it fetched) may take every
// slot; any other client only up to three quarters of them, so that under
// overload the last quarter is kept for the machines being built.
func admitTransfer(running, max int, known bool) bool {
	if known {
		return running < max
	}
	return running < max-max/4
}

// SystemMaxTransfers is MaxTransfersFor on this process's hard
// RLIMIT_NOFILE and memory (physical, or the cgroup's memory.max when
// lower); it returns the two inputs too, for the log.
func SystemMaxTransfers() (n int, nofile, mem uint64) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Max != unix.RLIM_INFINITY {
		nofile = rl.Max
	}
	mem = systemMemory()
	return MaxTransfersFor(nofile, mem), nofile, mem
}
