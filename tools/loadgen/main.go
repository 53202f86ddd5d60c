// Command loadgen simulates a fleet of agents against one coordinator from
// one process: it registers --instances instances with a join token, then
// sends each a heartbeat every --interval, spread evenly over the interval,
// through a pool of kept-alive connections, for --duration. It prints the
// heartbeats per second achieved against the rate asked, their p50 and p99
// latency, the errors, and, with --pid, the coordinator's resident memory
// and what it grew by per instance.
//
//	go run ./tools/loadgen --url http://127.0.0.1:7070 --token T --instances 100000 --interval 10s --duration 60s --pid PID
//
// It speaks the agent protocol through the registry package's types and
// paths only; it imports nothing else of Portolan (no agent, no
// coordinator), so that what it measures is the coordinator alone.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portolan/portolan/registry"
)

type config struct {
	url       string
	token     string
	caFile    string
	instances int
	interval  time.Duration
	duration  time.Duration
	conns     int
	pid       int
	service   string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.url, "url", "http://127.0.0.1:7070", "URL of the coordinator")
	flag.StringVar(&cfg.token, "token", "", "join token (or the coordinator's --agent-token) the instances register with")
	flag.StringVar(&cfg.caFile, "ca", "", "PEM file of the CA the coordinator's HTTPS certificate is checked against")
	flag.IntVar(&cfg.instances, "instances", 100_000, "instances to simulate")
	flag.DurationVar(&cfg.interval, "interval", 10*time.Second, "heartbeat interval of each instance")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "how long to send heartbeats")
	flag.IntVar(&cfg.conns, "conns", 256, "connections (and concurrent requests) to the coordinator")
	flag.IntVar(&cfg.pid, "pid", 0, "the coordinator's process id, to report its resident memory (Linux)")
	flag.StringVar(&cfg.service, "service", "news", "service the instances register as")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	switch {
	case cfg.token == "":
		return errors.New("--token is required: a join token or the coordinator's --agent-token")
	case cfg.instances < 1 || cfg.conns < 1:
		return errors.New("--instances and --conns must be at least 1")
	case cfg.interval <= 0 || cfg.duration <= 0:
		return errors.New("--interval and --duration must be positive")
	}
	client, err := newClient(cfg)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(cfg.url, "/")
	rssStart := rss(cfg.pid)

	start := time.Now()
	fleet, err := register(ctx, client, base, cfg)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(out, "registered %d instances in %v (%.0f/s) over %d connections\n",
		cfg.instances, took.Round(time.Millisecond), float64(cfg.instances)/took.Seconds(), cfg.conns)
	rssRegistered := rss(cfg.pid)

	res := heartbeats(ctx, client, base, cfg, fleet)
	rssEnd := rss(cfg.pid)

	target := float64(cfg.instances) / cfg.interval.Seconds()
	fmt.Fprintf(out, "heartbeats: %.0f/s asked, %.0f/s achieved (%d in %v), %d errors%s\n",
		target, float64(res.ok)/res.elapsed.Seconds(), res.ok, res.elapsed.Round(time.Millisecond), res.errors, res.firstError)
	fmt.Fprintf(out, "latency: p50 %v, p99 %v, max %v\n",
		percentile(res.latencies, 0.50), percentile(res.latencies, 0.99), percentile(res.latencies, 1))
	if cfg.pid > 0 {
		fmt.Fprintf(out, "coordinator RSS: %.1f MiB before, %.1f MiB registered, %.1f MiB at the end: %.0f bytes per instance\n",
			mib(rssStart), mib(rssRegistered), mib(rssEnd), float64(rssEnd-rssStart)/float64(cfg.instances))
	}
	return ctx.Err()
}

// newClient pools cfg.conns kept-alive connections to the coordinator.
func newClient(cfg config) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost, t.MaxConnsPerHost = cfg.conns, cfg.conns, cfg.conns
	if cfg.caFile != "" {
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return nil, fmt.Errorf("reading --ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s holds no PEM certificate", cfg.caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}, nil
}

// instance is one simulated instance: its heartbeat URL and credential.
type instance struct {
	url, auth string
}

// register registers the fleet, cfg.conns at a time.
func register(ctx context.Context, client *http.Client, base string, cfg config) ([]instance, error) {
	fleet := make([]instance, cfg.instances)
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range cfg.conns {
		wg.Go(func() {
			for firstErr.Load() == nil && ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(fleet) {
					return
				}
				id := fmt.Sprintf("%s-loadgen-%07d", cfg.service, i)
				body := fmt.Sprintf(`{"service":%q,"address":"10.%d.%d.%d","port":3000,"labels":{"pool":"basic","zone":"z%d"},`+
					`"hostname":"%s","agent_version":"loadgen","check":"http GET http://127.0.0.1:3000/health"}`,
					cfg.service, i>>16&255, i>>8&255, i&255, i%3, id)
				b, err := put(ctx, client, base+registry.InstancePath(id), "Bearer "+cfg.token, body)
				var reply registry.RegisterReply
				if err == nil {
					err = json.Unmarshal(b, &reply)
				}
				if err != nil {
					err = fmt.Errorf("registering instance %d: %w", i, err)
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				fleet[i] = instance{url: base + registry.HeartbeatPath(id), auth: "Bearer " + reply.Credential}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		return nil, *err
	}
	return fleet, ctx.Err()
}

// results of the heartbeat phase.
type results struct {
	ok, errors int64
	firstError string
	elapsed    time.Duration
	latencies  []time.Duration
}

const heartbeatBody = `{"status":"passing","output":"HTTP GET http://127.0.0.1:3000/health: 200 OK","revision":1}`

// heartbeats sends instance j%n its heartbeat at start + j×interval/n for
// j = 0, 1, 2… until cfg.duration is over: each instance once per
// interval, the fleet spread evenly. Requests wait for a free connection;
// when all are busy the schedule slips, and the achieved rate says so.
func heartbeats(ctx context.Context, client *http.Client, base string, cfg config, fleet []instance) results {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	jobs := make(chan int, cfg.conns)
	var (
		mu  sync.Mutex
		res results
		wg  sync.WaitGroup
	)
	for range cfg.conns {
		wg.Go(func() {
			var lat []time.Duration
			var ok, failed int64
			var first string
			for i := range jobs {
				t0 := time.Now()
				_, err := put(ctx, client, fleet[i].url, fleet[i].auth, heartbeatBody)
				switch {
				case err == nil:
					lat = append(lat, time.Since(t0))
					ok++
				case ctx.Err() == nil:
					failed++
					if first == "" {
						first = err.Error()
					}
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.ok += ok
			res.errors += failed
			if res.firstError == "" && first != "" {
				res.firstError = " (first: " + first + ")"
			}
			mu.Unlock()
		})
	}
	start := time.Now()
	n := int64(len(fleet))
	step := cfg.interval.Nanoseconds()
	var j int64
	tick := time.NewTicker(2 * time.Millisecond)
dispatch:
	for {
		due := time.Since(start).Nanoseconds() * n / step // heartbeats due by now
		for ; j < due; j++ {
			select {
			case jobs <- int(j % n):
			case <-ctx.Done():
				break dispatch
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			break dispatch
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res
}

// put sends one PUT and returns the answer's body; any status but 200 is
// an error.
func put(ctx context.Context, client *http.Client, url, auth, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, registry.MaxBodyBytes))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Round(time.Microsecond)
}

// rss is the resident memory of process pid in bytes (VmRSS), 0 when pid
// is 0 or unreadable.
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
