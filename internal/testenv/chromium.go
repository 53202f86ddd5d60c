package testenv

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium starts headless Chromium (Debian's, as make chromium installs
// it) with opts beside the defaults, and returns its tab's context, which
// ends within 2 minutes and when t ends. A test without it is skipped, but
// under CI=true, where it fails: CI must prove the console in a real
// browser.
func Chromium(t testing.TB, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	SkipShort(t)
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		Missing(t, "no chromium on PATH: run make chromium (apt-get install chromium)")
	}
	all := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container has no user namespaces for the sandbox
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(all, opts...)...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
