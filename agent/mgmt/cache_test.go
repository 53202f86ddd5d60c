package mgmt

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func cacheEntry(key string, n int) *cachedAnswer {
	return &cachedAnswer{key: key, status: 200, header: http.Header{"Content-Type": {"application/json"}},
		body: []byte(strings.Repeat("x", n)), stored: time.Now()}
}

func TestCacheBoundsEntriesLRU(t *testing.T) {
	c := newAnswerCache(3, 1<<20)
	for _, k := range []string{"a", "b", "c"} {
		c.put(cacheEntry(k, 10))
	}
	_, ok := c.get("a") // a is now the most recently used
	require.True(t, ok)
	c.put(cacheEntry("d", 10))
	_, ok = c.get("b")
	assert.False(t, ok, "the least recently used entry is evicted")
	for _, k := range []string{"a", "c", "d"} {
		_, ok := c.get(k)
		assert.True(t, ok, k)
	}
	n, _ := c.stats()
	assert.Equal(t, 3, n)
}

func TestCacheBoundsBytes(t *testing.T) {
	c := newAnswerCache(100, 8000)
	for i := range 20 {
		c.put(cacheEntry(fmt.Sprint(i), 900))
	}
	n, b := c.stats()
	assert.LessOrEqual(t, b, int64(8000))
	assert.Equal(t, 8, n)
	_, ok := c.get("19")
	assert.True(t, ok)

	c.put(cacheEntry("big", 1001)) // over an eighth of the bound: not kept
	_, ok = c.get("big")
	assert.False(t, ok)
}

func TestCacheReplaceKeepsAccounting(t *testing.T) {
	c := newAnswerCache(10, 1<<20)
	c.put(cacheEntry("a", 100))
	c.put(cacheEntry("a", 10))
	n, b := c.stats()
	assert.Equal(t, 1, n)
	assert.Equal(t, cacheEntry("a", 10).size(), b)
	e, ok := c.get("a")
	require.True(t, ok)
	assert.Len(t, e.body, 10)
	c.remove("a")
	n, b = c.stats()
	assert.Zero(t, n)
	assert.Zero(t, b)
}

func TestCacheConcurrent(t *testing.T) {
	c := newAnswerCache(16, 1<<20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprint((g + i) % 40)
				c.put(cacheEntry(k, i%50))
				c.get(k)
			}
		}()
	}
	wg.Wait()
	n, b := c.stats()
	assert.LessOrEqual(t, n, 16)
	var sum int64
	for el := c.order.Front(); el != nil; el = el.Next() {
		sum += el.Value.(*cachedAnswer).size()
	}
	assert.Equal(t, sum, b)
}
