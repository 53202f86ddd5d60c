package mgmt

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// BenchmarkProxy measures the management proxy's overhead: a GET of a
// 1 KiB answer from a loopback upstream, called directly (the baseline) and
// through the proxy (route lookup in the real 3scale spec, token injection,
// header filtering, caching the answer). Every iteration makes one call of
// each, alternating which goes first, so both see the same machine load. It
// reports p50 and p99 latency of each, the latency the proxy adds, and
// requests/s (clients / mean latency), with 1 client and with 8 concurrent
// clients.
func BenchmarkProxy(b *testing.B) {
	answer := []byte(`<?xml version="1.0" encoding="UTF-8"?><services>` + strings.Repeat("<service><id>1</id></service>", 34) + `</services>`)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") != "bench-token" {
			http.Error(w, "no token", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(answer)
	}))
	defer upstream.Close()
	// Info, the agent's default level: the access log is at debug.
	env := startProxyLogging(b, upstream.URL, "bench-token", Config{Include: []string{"tag:Services"}}, zerolog.InfoLevel)
	direct := upstream.URL + "/admin/api/services.xml?access_token=bench-token"
	proxied := env.url + "/admin/api/services.xml"

	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			var mu sync.Mutex
			var lat [2][]time.Duration // direct, proxied
			pair := func(i int) error {
				urls := [2]string{direct, proxied}
				var d [2]time.Duration
				for k := range 2 {
					j := (i + k) % 2 // alternate which goes first
					var err error
					if d[j], err = timedGet(client, urls[j]); err != nil {
						return err
					}
				}
				mu.Lock()
				lat[0], lat[1] = append(lat[0], d[0]), append(lat[1], d[1])
				mu.Unlock()
				return nil
			}
			if err := pair(0); err != nil { // warm the connections
				b.Fatal(err)
			}
			lat = [2][]time.Duration{}
			b.ResetTimer()
			if clients == 1 {
				for i := range b.N {
					if err := pair(i); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(clients / 2) // GOMAXPROCS × clients/2 goroutines
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						if err := pair(i); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.StopTimer()
			if len(lat[0]) == 0 {
				return
			}
			var p50, p99, rps [2]float64
			for k := range 2 {
				slices.Sort(lat[k])
				var sum time.Duration
				for _, d := range lat[k] {
					sum += d
				}
				n := len(lat[k])
				p50[k] = float64(lat[k][n/2]) / 1e3
				p99[k] = float64(lat[k][n*99/100]) / 1e3
				rps[k] = float64(clients) / (sum.Seconds() / float64(n))
			}
			b.ReportMetric(p50[0], "direct-p50-µs")
			b.ReportMetric(p50[1], "proxy-p50-µs")
			b.ReportMetric(p50[1]-p50[0], "added-p50-µs")
			b.ReportMetric(p99[0], "direct-p99-µs")
			b.ReportMetric(p99[1], "proxy-p99-µs")
			b.ReportMetric(p99[1]-p99[0], "added-p99-µs")
			b.ReportMetric(rps[0], "direct-req/s")
			b.ReportMetric(rps[1], "proxy-req/s")
		})
	}
}

func timedGet(client *http.Client, u string) (time.Duration, error) {
	t0 := time.Now()
	resp, err := client.Get(u)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return time.Since(t0), nil
}
