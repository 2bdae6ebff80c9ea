// Benchmarks of client_golang, the upstream side of bench/client/run.
// The same operations as bench_client.c, so the two can be compared in one run.
// Run by bench/client/run in GOPATH mode against Debian's client_golang.
package promclientbench

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func BenchmarkCounterInc(b *testing.B) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "h"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Inc()
	}
}

// Two goroutines increment one counter at once; ns/op is wall time per Inc.
func BenchmarkCounterInc2Threads(b *testing.B) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "h"})
	var wg sync.WaitGroup
	b.ResetTimer()
	for t := 0; t < 2; t++ {
		wg.Add(1)
		go func() {
			for i := 0; i < b.N/2; i++ {
				c.Inc()
			}
			wg.Done()
		}()
	}
	wg.Wait()
}

func BenchmarkLabelsInc(b *testing.B) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "h"},
		[]string{"method", "endpoint"})
	v.WithLabelValues("GET", "/home").Inc()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.WithLabelValues("GET", "/home").Inc()
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Help: "h"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Observe(float64(i%1000) / 100)
	}
}

func BenchmarkSummaryObserve(b *testing.B) {
	s := prometheus.NewSummary(prometheus.SummaryOpts{Name: "s", Help: "h",
		Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Observe(float64(i%1000) / 100)
	}
}

const renderSeries = 100000

func newBigRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "Requests."},
		[]string{"path", "code"})
	reg.MustRegister(v)
	for i := 0; i < renderSeries; i++ {
		v.WithLabelValues(fmt.Sprintf("/api/v1/item/%d", i), "200").Add(float64(i))
	}
	return reg
}

// Gather + text encoding of 100k series; also reports the process's peak RSS.
func BenchmarkRender100k(b *testing.B) {
	reg := newBigRegistry()
	var buf bytes.Buffer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)*1024, "peak-rss-bytes")
	b.ReportMetric(float64(buf.Len()), "out-bytes")
}

// Heap bytes per labelled counter child.
func BenchmarkBytesPerChild(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "h"},
			[]string{"path", "code"})
		for k := 0; k < renderSeries; k++ {
			v.WithLabelValues(fmt.Sprintf("/api/v1/item/%d", k), "200").Inc()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/renderSeries, "bytes/child")
		runtime.KeepAlive(v)
	}
}
