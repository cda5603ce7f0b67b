package export

import (
	"errors"
	"reflect"
)

// partlyRejected is the number of spans that a partial success in err, the
// error of an upload the backend accepted, says it rejected. The OTLP
// clients report a partial success as an error of their internal type
// PartialSuccess (RejectedItems, RejectedKind) joined to the upload's,
// which no other package can name: it is found by its shape.
func partlyRejected(err error) int64 {
	var n int64
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		v := reflect.ValueOf(err)
		if v.Kind() == reflect.Struct && v.Type().Name() == "PartialSuccess" {
			if f := v.FieldByName("RejectedItems"); f.IsValid() && f.CanInt() {
				n += max(f.Int(), 0)
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		default:
			walk(errors.Unwrap(err))
		}
	}
	walk(err)
	return n
}
