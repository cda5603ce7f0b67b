// Package replay feeds recorded Events and objects (kubectl output, the
// earlier kspan's captures, kspan's own captures) through the correlation
// engine, exactly as the live source does. Inputs are read whole and ordered
// by observed time and content, so the files' order does not change the
// output, and the engine's clock follows the records' own times.
package replay
