package correlate_test

import (
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

func BenchmarkDecodeEventClientGo(b *testing.B) {
	s := newStream(b, benchDeploys, benchReplicas)
	sch := k8sruntime.NewScheme()
	if err := corev1.AddToScheme(sch); err != nil {
		b.Fatal(err)
	}
	dec := serializer.NewCodecFactory(sch).UniversalDeserializer()
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		for _, raw := range s.events {
			var ev corev1.Event
			if _, _, err := dec.Decode(raw, nil, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	perEvent(b, len(s.events), &before)
}
