// families.go writes one set of metric families in the three exposition
// formats with the Go client's own encoders (github.com/prometheus/common/
// expfmt, as client_golang serves them), for the model unit tests to check
// that the three parsers see the same series:
//
//	families.prom  text 0.0.4
//	families.om    OpenMetrics 1.0.0 (with "# EOF")
//	families.pb    delimited protobuf MetricFamily messages
//
// Regenerate with (Debian's golang-github-prometheus-client-golang-dev):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go run families.go
package main

import (
	"bytes"
	"math"
	"os"

	"github.com/golang/protobuf/proto"
	"github.com/golang/protobuf/ptypes/timestamp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func lp(n, v string) *dto.LabelPair {
	return &dto.LabelPair{Name: proto.String(n), Value: proto.String(v)}
}

func main() {
	mt := func(t dto.MetricType) *dto.MetricType { return &t }
	ex := func(v float64, sec int64, labels ...string) *dto.Exemplar {
		e := &dto.Exemplar{Value: proto.Float64(v)}
		for i := 0; i < len(labels); i += 2 {
			e.Label = append(e.Label, lp(labels[i], labels[i+1]))
		}
		if sec != 0 {
			e.Timestamp = &timestamp.Timestamp{Seconds: sec, Nanos: 500000000}
		}
		return e
	}
	fams := []*dto.MetricFamily{
		{
			Name: proto.String("http_requests_total"), Help: proto.String("Requests \\ served.\nSecond line."), Type: mt(dto.MetricType_COUNTER),
			Metric: []*dto.Metric{
				{Label: []*dto.LabelPair{lp("code", "200"), lp("method", "GET")}, Counter: &dto.Counter{Value: proto.Float64(1027), Exemplar: ex(1, 1600000000, "trace_id", "abc123")}},
				{Label: []*dto.LabelPair{lp("code", "500"), lp("method", "POST")}, Counter: &dto.Counter{Value: proto.Float64(3)}, TimestampMs: proto.Int64(1395066363000)},
			},
		},
		{
			Name: proto.String("temperature"), Help: proto.String("A gauge with odd values."), Type: mt(dto.MetricType_GAUGE),
			Metric: []*dto.Metric{
				{Label: []*dto.LabelPair{lp("where", "in \"quotes\"")}, Gauge: &dto.Gauge{Value: proto.Float64(math.NaN())}},
				{Label: []*dto.LabelPair{lp("where", "back\\slash")}, Gauge: &dto.Gauge{Value: proto.Float64(math.Inf(1))}},
				{Label: []*dto.LabelPair{lp("where", "new\nline")}, Gauge: &dto.Gauge{Value: proto.Float64(math.Inf(-1))}},
				{Label: []*dto.LabelPair{lp("where", "ünïcödé ☃")}, Gauge: &dto.Gauge{Value: proto.Float64(-1.5e-7)}},
				{Label: []*dto.LabelPair{lp("where", "")}, Gauge: &dto.Gauge{Value: proto.Float64(1.2345678901234567e+300)}},
				{Gauge: &dto.Gauge{Value: proto.Float64(0.1)}},
			},
		},
		{
			Name: proto.String("untyped_thing"), Help: proto.String(""), Type: mt(dto.MetricType_UNTYPED),
			Metric: []*dto.Metric{{Untyped: &dto.Untyped{Value: proto.Float64(42)}}},
		},
		{
			Name: proto.String("rpc_duration_seconds"), Help: proto.String("RPC latency."), Type: mt(dto.MetricType_SUMMARY),
			Metric: []*dto.Metric{
				{Label: []*dto.LabelPair{lp("service", "a")}, Summary: &dto.Summary{SampleCount: proto.Uint64(2693), SampleSum: proto.Float64(17560473),
					Quantile: []*dto.Quantile{{Quantile: proto.Float64(0.01), Value: proto.Float64(3102)}, {Quantile: proto.Float64(0.5), Value: proto.Float64(4773)}, {Quantile: proto.Float64(0.99), Value: proto.Float64(76656)}}}},
				{Label: []*dto.LabelPair{lp("service", "b")}, Summary: &dto.Summary{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}},
			},
		},
		{
			Name: proto.String("request_size_bytes"), Help: proto.String("Sizes."), Type: mt(dto.MetricType_HISTOGRAM),
			Metric: []*dto.Metric{
				{Label: []*dto.LabelPair{lp("path", "/x")}, Histogram: &dto.Histogram{SampleCount: proto.Uint64(144320), SampleSum: proto.Float64(53423.5),
					Bucket: []*dto.Bucket{
						{UpperBound: proto.Float64(0.005), CumulativeCount: proto.Uint64(24054), Exemplar: ex(0.0042, 1600000001, "trace_id", "t1")},
						{UpperBound: proto.Float64(0.25), CumulativeCount: proto.Uint64(33444)},
						{UpperBound: proto.Float64(2.5), CumulativeCount: proto.Uint64(100392), Exemplar: ex(1.7, 0, "trace_id", "t2", "span", "s")},
						{UpperBound: proto.Float64(10), CumulativeCount: proto.Uint64(129000)},
						{UpperBound: proto.Float64(1e+06 + 0.5), CumulativeCount: proto.Uint64(129389)},
					}}},
			},
		},
	}
	var text, om, pb bytes.Buffer
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&text, f); err != nil {
			panic(err)
		}
		if _, err := expfmt.MetricFamilyToOpenMetrics(&om, f); err != nil {
			panic(err)
		}
		enc := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim)
		if err := enc.Encode(f); err != nil {
			panic(err)
		}
	}
	om.WriteString("# EOF\n")
	os.WriteFile("families.prom", text.Bytes(), 0644)
	os.WriteFile("families.om", om.Bytes(), 0644)
	os.WriteFile("families.pb", pb.Bytes(), 0644)
}
