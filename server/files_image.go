package server

import (
	"bufio"
	"fmt"
	"image"
	_ "image/gif"  // registers GIF with image.DecodeConfig
	_ "image/jpeg" // JPEG
	_ "image/png"  // PNG
	"io"

	_ "golang.org/x/image/webp" // WebP: the only one the standard library lacks
)

// maxImagePixels refuses decompression bombs: a small file whose header
// claims a huge image would make every browser that shows it allocate
// width × height × 4 bytes. 100 million pixels is more than any camera
// of a phone gives at 25 MiB.
const maxImagePixels = 100_000_000

// inlineTypes are the media types a file may be served inline as:
// images every browser shows and that cannot run script (SVG can).
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// imageInfo is what an image's header says.
type imageInfo struct {
	typ           string // one of inlineTypes
	width, height int
}

// imageTooLarge refuses an image of more than maxImagePixels.
type imageTooLarge struct{ width, height int }

func (e *imageTooLarge) Error() string {
	return fmt.Sprintf("image of %d×%d pixels", e.width, e.height)
}

// inspectImage reads the header of the file in r with image.DecodeConfig,
// which decodes no pixels, and returns its type and size. A file that
// does not start like a PNG, JPEG, GIF or WebP image, or whose header
// does not decode, is no image: a zero imageInfo and no error. An image
// of more than maxImagePixels is an *imageTooLarge error. Other errors
// are read errors of r.
func inspectImage(r io.Reader) (imageInfo, error) {
	er := &errReader{r: r}
	cfg, format, err := image.DecodeConfig(bufio.NewReader(er))
	if er.err != nil {
		return imageInfo{}, er.err
	}
	typ := "image/" + format
	if err != nil || !inlineTypes[typ] || cfg.Width <= 0 || cfg.Height <= 0 {
		return imageInfo{}, nil
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return imageInfo{}, &imageTooLarge{cfg.Width, cfg.Height}
	}
	return imageInfo{typ: typ, width: cfg.Width, height: cfg.Height}, nil
}

// errReader remembers a read error other than EOF, which a decoder
// would report as a format error.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
