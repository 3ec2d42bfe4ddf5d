package httpd

import (
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// failureLimiter counts refused requests per source address, each address
// with its own token bucket (golang.org/x/time/rate): max refusals at once,
// refilled over window. It only ever turns a refusal into 429: a request
// with valid credentials is served whatever any address did before.
type failureLimiter struct {
	mu     sync.Mutex
	every  rate.Limit
	burst  int
	perIP  map[string]*ipLimit
	maxIPs int // bound on remembered addresses; past it the idlest half is forgotten
}

type ipLimit struct {
	lim  *rate.Limiter
	last time.Time
}

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	return &failureLimiter{every: rate.Every(window / time.Duration(max)), burst: max, perIP: map[string]*ipLimit{}, maxIPs: 65536}
}

// fail records one refusal from ip and reports whether ip is over its limit.
func (l *failureLimiter) fail(ip string, now time.Time) (over bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.perIP[ip]
	if e == nil {
		if len(l.perIP) >= l.maxIPs {
			l.forget(now)
		}
		e = &ipLimit{lim: rate.NewLimiter(l.every, l.burst)}
		l.perIP[ip] = e
	}
	e.last = now
	return !e.lim.AllowN(now, 1)
}

// forget drops the addresses idle longest (those whose buckets are full again first).
func (l *failureLimiter) forget(now time.Time) {
	refill := time.Duration(float64(l.burst) / float64(l.every) * float64(time.Second))
	for ip, e := range l.perIP {
		if now.Sub(e.last) > refill {
			delete(l.perIP, ip)
		}
	}
	for ip := range l.perIP {
		if len(l.perIP) < l.maxIPs/2 {
			break
		}
		delete(l.perIP, ip)
	}
}

// refusal answers a refused request: err normally, 429 when its source
// address has been refused too often lately.
func (s *Server) refusal(c echo.Context, err error) error {
	if s.failures.fail(c.RealIP(), time.Now()) {
		return &apiError{status: http.StatusTooManyRequests, msg: "too many refused requests from " + c.RealIP(),
			hint: "check the token you are sending; refusals are counted per address and forgotten within a minute"}
	}
	return err
}
