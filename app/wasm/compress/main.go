// Command compress writes the pre-compressed copies of the UI's
// WebAssembly that the server embeds and sends to browsers that accept
// them: FILE.gz (gzip) and FILE.br (brotli). It is Go so that building
// chatapp needs nothing but Go: the Makefile runs it after the wasm build,
//
//	go run ./app/wasm/compress web/app.wasm
//
// Brotli runs at quality 11 with the largest window (16 MiB, the brotli
// command's default), which is what keeps app.wasm.br as small as the
// brotli command made it; gzip runs at its best level without a name or
// time in the header (gzip -9 -n), so that the same wasm gives the same
// bytes. Both are written beside FILE under a temporary name and renamed,
// so an interrupted build never leaves a truncated copy to be embedded.
package main

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compress FILE (writes FILE.gz and FILE.br)")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "compress: %v\n", err)
		os.Exit(1)
	}
}

// encoders are the copies made of each file: suffix and compressor.
var encoders = []struct {
	suffix string
	wrap   func(io.Writer) (io.WriteCloser, error)
}{
	{".gz", func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriterLevel(w, gzip.BestCompression) }},
	{".br", func(w io.Writer) (io.WriteCloser, error) {
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24}), nil
	}},
}

// run compresses path into every encoding at once (brotli takes most of
// the time; gzip runs beside it) and reports the sizes on out.
func run(path string, out io.Writer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	start := time.Now()
	sizes := make([]int64, len(encoders))
	errs := make(chan error, len(encoders))
	for i, e := range encoders {
		go func() {
			n, err := writeCompressed(path+e.suffix, raw, e.wrap)
			sizes[i] = n
			errs <- err
		}()
	}
	var all []error
	for range encoders {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %d bytes, %s.gz %d, %s.br %d (%.1fs)\n", path, len(raw),
		filepath.Base(path), sizes[0], filepath.Base(path), sizes[1], time.Since(start).Seconds())
	return nil
}

// writeCompressed writes raw through wrap into dst atomically and returns
// the compressed size.
func writeCompressed(dst string, raw []byte, wrap func(io.Writer) (io.WriteCloser, error)) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name()) // after the rename: no such file, ignored
	zw, err := wrap(f)
	if err == nil {
		_, err = zw.Write(raw)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	}
	var size int64
	if err == nil {
		size, err = f.Seek(0, io.SeekCurrent)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", dst, err)
	}
	return size, nil
}
