// floats.go writes the ground truth the model unit tests compare against,
// taken from Go's strconv (the library Prometheus uses):
//
//	format_float.txt  <float64 bits in hex> <strconv.FormatFloat(v, 'g', -1, 64)>
//	parse_float.txt   <input in hex> <float64 bits in hex, "syntax" or "range">
//
// parse_float.txt is what Prometheus's text parsers accept as a sample value:
// strconv.ParseFloat on inputs without 'p', 'P' or '_' (which Prometheus
// refuses before calling it).
//
// Regenerate with: GO111MODULE=off go run floats.go
package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strconv"
	"strings"
)

func formatFloats(w *bufio.Writer, r *rand.Rand) {
	emit := func(v float64) {
		fmt.Fprintf(w, "%016x %s\n", math.Float64bits(v), strconv.FormatFloat(v, 'g', -1, 64))
	}
	for _, v := range []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 2.2250738585072014e-308,
		1, -1, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 1e6, 123456, 1234567, 100000, 999999, 999999.5,
		0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 2.5, 5, 10, 0.99, 0.999, 0.9999,
		0.0001, 0.00001, 0.000123, 1e21, 1e20, 1e22, 1e23, 9007199254740992, 9007199254740993,
		1.5e-7, 5e-324, 1e-323, 4.4e-323, 1.7976931348623157e308, 123.456, 1e15, 1e16, 1e17,
		3.0000000000000004, 0.30000000000000004, 100, 1000, 60, 300, 3600, 86400} {
		emit(v)
	}
	for i := 0; i < 500; i++ {
		v := math.Float64frombits(r.Uint64())
		if !math.IsNaN(v) {
			emit(v)
		}
	}
	for i := 0; i < 500; i++ {
		m := r.Int63n(int64(math.Pow10(1 + r.Intn(15))))
		v, _ := strconv.ParseFloat(fmt.Sprintf("%de%d", m, r.Intn(40)-25), 64)
		emit(v)
	}
	for i := 0; i < 200; i++ {
		emit(float64(r.Int63n(1 << 53)))
		emit(r.Float64() * math.Pow10(r.Intn(40)-20))
	}
	for e := -1074; e <= 1023; e += 7 {
		v := math.Ldexp(1, e)
		emit(v)
		emit(math.Nextafter(v, 0))
		emit(math.Nextafter(v, math.Inf(1)))
	}
	for e := -323; e <= 308; e += 3 {
		v, _ := strconv.ParseFloat(fmt.Sprintf("1e%d", e), 64)
		emit(v)
		emit(math.Nextafter(v, 0))
		emit(math.Nextafter(v, math.Inf(1)))
	}
}

func parseFloats(w *bufio.Writer, r *rand.Rand) {
	emit := func(s string) {
		res := ""
		v, err := strconv.ParseFloat(s, 64)
		switch {
		case strings.ContainsAny(s, "pP_"), err != nil && errors.Is(err, strconv.ErrSyntax):
			res = "syntax"
		case err != nil:
			res = "range"
		default:
			res = fmt.Sprintf("%016x", math.Float64bits(v))
		}
		fmt.Fprintf(w, "%x %s\n", s, res)
	}
	for _, s := range []string{"0", "-0", "+0", "1", "+1", "-1", ".5", "5.", ".", "+.5", "-.e1",
		"1e", "1e+", "1e-", "1e+5", "1E5", "1e05", "Inf", "+Inf", "-Inf", "inf", "INF", "iNf",
		"infinity", "+Infinity", "-INFINITY", "infinit", "infinityy", "in", "i", "NaN", "nan",
		"NAN", "+NaN", "-nan", "nan1", "0x10", "0x1p3", "0X1P-3", "1_000", "1e309", "-1e309",
		"1e-400", "4e-320", "00012", "1.5e-7", "9007199254740993", "9007199254740995",
		"0.0000000000000000000000000001", "1e99999999999999999999", "0e99999999999999999999",
		"17976931348623158e292", "17976931348623159e292", "2.2250738585072011e-308",
		"2.2250738585072012e-308", "4.9406564584124654e-324", "2.4703282292062328e-324",
		"2.4703282292062327e-324", "123456789012345678901234567890", "0.1000000000000000055511151231257827",
		"1.00000000000000011102230246251565404236316680908203125", "1.00000000000000011102230246251565404236316680908203124",
		"", "+", "-", "e5", "1.2.3", "1e5.5", "nan(123)", " 1", "1 ", "1\t", "1,5", "١", "1e+-5",
		"--1", "+-1", "1.e3", ".e3", "0.", "-.0", "1f", "1d", "true", "0b1", "0o7", "Infinity1"} {
		emit(s)
	}
	digits := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(byte('0' + r.Intn(10)))
		}
		return b.String()
	}
	for i := 0; i < 1500; i++ {
		s := ""
		switch r.Intn(3) {
		case 0:
			s = "-"
		case 1:
			s = "+"
		}
		s += digits(r.Intn(25))
		if r.Intn(2) == 0 {
			s += "." + digits(r.Intn(25))
		}
		if r.Intn(2) == 0 {
			s += []string{"e", "E"}[r.Intn(2)] + []string{"", "+", "-"}[r.Intn(3)] + strconv.Itoa(r.Intn(340))
		}
		emit(s)
	}
}

func write(name string, f func(*bufio.Writer, *rand.Rand)) {
	out, err := os.Create(name)
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriter(out)
	f(w, rand.New(rand.NewSource(1)))
	if err := w.Flush(); err != nil {
		panic(err)
	}
	out.Close()
}

func main() {
	write("format_float.txt", formatFloats)
	write("parse_float.txt", parseFloats)
}
