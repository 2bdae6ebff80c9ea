// make_golden.go - the Go program the golden files of test_fmt.c and
// test_encode.c were made with (Go 1.19, Debian's client_model 0.3.0 and
// prometheus/common 0.39).  It is not built or run by the tests.
//
//	cd tests/unit/client/golden
//	GO111MODULE=off GOPATH=/usr/share/gocode go run make_golden.go fmt  > fmt_go.txt
//	GO111MODULE=off GOPATH=/usr/share/gocode go run make_golden.go text > encode_text.txt
//	GO111MODULE=off GOPATH=/usr/share/gocode go run make_golden.go om   # see below
//	... | GO111MODULE=off GOPATH=/usr/share/gocode go run make_golden.go decode
//
// "text" leaves out the family without children, which MetricFamilyToText
// refuses; encode_text.txt ends with its two header lines.  "om" is what
// expfmt 0.39 writes; encode_openmetrics.txt adds to it what that version
// cannot write (# UNIT, _created, info, stateset, a counter not ending in
// _total; see test_encode.c).  "decode" reads delimited protobuf (libprom's
// output) and prints it as text, which must equal encode_text.txt.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"strconv"

	"github.com/golang/protobuf/proto"
	timestamppb "github.com/golang/protobuf/ptypes/timestamp"
	"github.com/matttproud/golang_protobuf_extensions/pbutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func lp(kv ...string) []*dto.LabelPair {
	var r []*dto.LabelPair
	for i := 0; i < len(kv); i += 2 {
		r = append(r, &dto.LabelPair{Name: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return r
}

func fam(name, help string, t dto.MetricType, ms ...*dto.Metric) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: t.Enum(), Metric: ms}
}

func counter(v float64, ex *dto.Exemplar, kv ...string) *dto.Metric {
	return &dto.Metric{Label: lp(kv...), Counter: &dto.Counter{Value: proto.Float64(v), Exemplar: ex}}
}
func gauge(v float64, kv ...string) *dto.Metric {
	return &dto.Metric{Label: lp(kv...), Gauge: &dto.Gauge{Value: proto.Float64(v)}}
}
func untyped(v float64, kv ...string) *dto.Metric {
	return &dto.Metric{Label: lp(kv...), Untyped: &dto.Untyped{Value: proto.Float64(v)}}
}
func ex(v float64, ts *timestamppb.Timestamp, kv ...string) *dto.Exemplar {
	return &dto.Exemplar{Label: lp(kv...), Value: proto.Float64(v), Timestamp: ts}
}
func hist(bounds []float64, counts []uint64, exs []*dto.Exemplar, sum float64, count uint64, kv ...string) *dto.Metric {
	h := &dto.Histogram{SampleCount: proto.Uint64(count), SampleSum: proto.Float64(sum)}
	for i, b := range bounds {
		bk := &dto.Bucket{CumulativeCount: proto.Uint64(counts[i]), UpperBound: proto.Float64(b)}
		if exs != nil {
			bk.Exemplar = exs[i]
		}
		h.Bucket = append(h.Bucket, bk)
	}
	return &dto.Metric{Label: lp(kv...), Histogram: h}
}

var pointOne = 0.1 // a variable: Go folds constant expressions exactly

func families() []*dto.MetricFamily {
	inf := math.Inf(1)
	def := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, inf}
	apiEx := make([]*dto.Exemplar, 12)
	apiEx[5] = ex(0.2, nil, "trace_id", "xyz")
	apiEx[11] = ex(15.5, &timestamppb.Timestamp{Seconds: 1700000001}, "trace_id", "inf", "user", "u\"1")
	q := func(q, v float64) *dto.Quantile {
		return &dto.Quantile{Quantile: proto.Float64(q), Value: proto.Float64(v)}
	}
	return []*dto.MetricFamily{
		fam("http_requests_total", "Total HTTP requests.", dto.MetricType_COUNTER,
			counter(1027, ex(1, &timestamppb.Timestamp{Seconds: 1700000000, Nanos: 123000000}, "trace_id", "abc123"), "code", "200", "method", "GET"),
			counter(3, nil, "code", "500", "method", "POST")),
		fam("jobs", "Jobs \\ done\nsince \"start\".", dto.MetricType_COUNTER, counter(0, nil)),
		fam("temperature_celsius", "Temperature ☃ in °C.", dto.MetricType_GAUGE,
			gauge(-3.5, "location", "a\\b\"c\nd"), gauge(math.NaN(), "location", "zürich ☃"),
			gauge(inf, "location", ""), gauge(math.Inf(-1), "location", "x"),
			gauge(1e-7, "location", "y"), gauge(123456789, "location", "z")),
		fam("up", "", dto.MetricType_GAUGE, gauge(1)),
		fam("legacy_metric", "An untyped metric.", dto.MetricType_UNTYPED,
			untyped(42, "a", "1"), untyped(pointOne+0.2, "a", "2"), untyped(math.Copysign(0, -1), "a", "3")),
		fam("request_duration_seconds", "Request duration.", dto.MetricType_HISTOGRAM,
			hist(def, []uint64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1024}, apiEx, 53.1, 1024, "handler", "/api"),
			hist(def, make([]uint64, 12), nil, 0, 0, "handler", "/")),
		fam("payload_size", "Sizes.", dto.MetricType_HISTOGRAM,
			hist([]float64{1, 2.5, 1e6, inf}, []uint64{1, 2, 3, 9007199254740993}, nil, 1e7, 9007199254740993)),
		fam("rpc_latency_seconds", "RPC latency.", dto.MetricType_SUMMARY,
			&dto.Metric{Label: lp("service", "db"), Summary: &dto.Summary{SampleCount: proto.Uint64(100), SampleSum: proto.Float64(1234.5),
				Quantile: []*dto.Quantile{q(0.5, 0.012), q(0.9, 0.05), q(0.99, math.NaN())}}}),
		fam("gc_pause_seconds", "GC pauses.", dto.MetricType_SUMMARY,
			&dto.Metric{Summary: &dto.Summary{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}}),
		fam("build_info", "Build information.", dto.MetricType_GAUGE,
			gauge(1, "env", "prod", "revision", "abc", "version", "1.2.3")),
		fam("feature_state", "Feature states.", dto.MetricType_GAUGE,
			gauge(1, "region", "eu", "feature_state", "a"), gauge(0, "region", "eu", "feature_state", "b"),
			gauge(0, "region", "eu", "feature_state", "c"), gauge(0, "region", "us", "feature_state", "a"),
			gauge(0, "region", "us", "feature_state", "b"), gauge(1, "region", "us", "feature_state", "c")),
		fam("empty_gauge", "No children.", dto.MetricType_GAUGE),
	}
}

func main() {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	switch os.Args[1] {
	case "text":
		for _, f := range families() {
			if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
				fmt.Fprintf(os.Stderr, "text: %v\n", err)
			}
		}
	case "om":
		for _, f := range families() {
			if _, err := expfmt.MetricFamilyToOpenMetrics(w, f); err != nil {
				fmt.Fprintf(os.Stderr, "om: %v\n", err)
			}
		}
		expfmt.FinalizeOpenMetrics(w)
	case "decode": // our protobuf on stdin, printed back as text
		r := bufio.NewReader(os.Stdin)
		for {
			f := &dto.MetricFamily{}
			if _, err := pbutil.ReadDelimited(r, f); err == io.EOF {
				break
			} else if err != nil {
				fmt.Fprintf(os.Stderr, "decode: %v\n", err)
				os.Exit(1)
			}
			if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
				fmt.Fprintf(os.Stderr, "text: %v\n", err)
			}
		}
	case "fmt":
		goldenFmt(w)
	}
}

// goldenFmt writes fmt_go.txt: positive doubles and their shortest text.
func goldenFmt(w *bufio.Writer) {
	r := rand.New(rand.NewSource(2024))
	var vals []float64
	for i := 0; i < 300; i++ {
		v := math.Float64frombits(r.Uint64() & 0x7fffffffffffffff)
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals = append(vals, v)
		}
	}
	for i := 0; i < 200; i++ {
		vals = append(vals, float64(r.Int63n(1000000000))/math.Pow(10, float64(r.Intn(12))))
	}
	for i := 0; i < 100; i++ {
		vals = append(vals, float64(r.Int63()>>uint(r.Intn(60))))
	}
	for e := -1074; e <= 1023; e += 11 {
		p := math.Ldexp(1, e)
		vals = append(vals, p, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)))
	}
	for e := -323; e <= 308; e += 7 {
		p, _ := strconv.ParseFloat("1e"+strconv.Itoa(e), 64)
		vals = append(vals, p, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)))
	}
	fmt.Fprintln(w, "# Go 1.19 strconv.FormatFloat(v, 'g', -1, 64) of positive doubles: bits (hex) and text.")
	fmt.Fprintln(w, "# Made by a Go program (random bit patterns, decimals, integers, powers of two and ten with their neighbours).")
	for _, v := range vals {
		if v == 0 {
			continue
		}
		fmt.Fprintf(w, "%016x %s\n", math.Float64bits(v), strconv.FormatFloat(v, 'g', -1, 64))
	}
}
