package main

import (
	"log/slog"
	"reflect"
	"strings"

	"github.com/netkick/netkick/internal/sdnotify"
)

// reloader is what `netkick serve` does on SIGHUP (systemctl reload): parse
// the templates again and read the config file again. Of the config, the log
// level applies at once; every other key is bound to a listener, a socket or
// the open store, so a changed one is named in the log as needing a restart
// and the running value stays.
type reloader struct {
	// resolve reads the config as at startup (defaults, env, file, flags).
	resolve func() (serveConfig, error)
	// running is the config the servers started with, as resolve gave it.
	running serveConfig
	// level is the logger's level; levelFlag says --log-level was given
	// (then the file's log_level does not apply).
	level     *slog.LevelVar
	levelFlag bool
	templates interface{ Reload() error }
	// cert, when set, is the HTTPS certificate, read again on reload.
	cert   interface{ Reload() error }
	notify *sdnotify.Notifier
	log    *slog.Logger
}

// reload runs one reload and reports it to systemd; errors go to the log,
// and the server keeps what it had.
func (r *reloader) reload() {
	r.log.Info("reload requested (SIGHUP)")
	r.send(sdnotify.Reloading, sdnotify.Status("reloading"))
	status := "reloaded"
	if err := r.templates.Reload(); err != nil {
		r.log.Error("reload: templates not reloaded, the previous ones stay in use", "err", err)
		status = "reload failed: templates (see the log)"
	} else {
		r.log.Info("reload: templates parsed again")
	}
	if r.cert != nil {
		if err := r.cert.Reload(); err != nil {
			r.log.Error("reload: TLS certificate not reloaded, the previous one stays in use", "err", err)
			status = "reload failed: TLS certificate (see the log)"
		} else {
			r.log.Info("reload: TLS certificate read again")
		}
	}
	cfg, err := r.resolve()
	switch {
	case err != nil:
		r.log.Error("reload: config not reloaded, the running one stays", "err", err)
		status = "reload failed: config (see the log)"
	default:
		if !r.levelFlag && cfg.LogLevel != r.running.LogLevel {
			var l slog.Level
			if err := l.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
				r.log.Error("reload: log_level not changed", "log_level", cfg.LogLevel, "err", err)
			} else {
				r.level.Set(l)
				r.running.LogLevel = cfg.LogLevel
				r.log.Info("reload: log level changed", "log_level", cfg.LogLevel)
			}
		}
		if keys := changedKeys(r.running, cfg); len(keys) > 0 {
			r.log.Warn("reload: these config keys changed but apply only on restart (systemctl restart netkick)", "keys", strings.Join(keys, ","))
		}
	}
	r.send(sdnotify.Ready, sdnotify.Status(status))
}

func (r *reloader) send(states ...string) {
	if err := r.notify.Notify(states...); err != nil {
		r.log.Warn("systemd notification", "err", err)
	}
}

// changedKeys names the config keys (as the YAML file spells them) whose
// values differ between a and b, log_level excepted (reload applies it).
func changedKeys(a, b serveConfig) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := 0; i < va.NumField(); i++ {
		f := va.Type().Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" || key == "log_level" {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, key)
		}
	}
	return out
}
