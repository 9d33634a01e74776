package local

import (
	"slices"

	"github.com/imgpredict/worker/predictor"
)

// applyOutputConfig filters like Clarifai: select_concepts keeps the named
// concepts (by id or name), min_value drops lower scores, and max_concepts
// keeps the top ones. Regions follow the first two through their concept.
func applyOutputConfig(pred *predictor.Prediction, oc predictor.OutputConfig) {
	keep := func(c predictor.Concept) bool {
		picked := func(r predictor.ConceptRef) bool { return r.Matches(c) }
		if len(oc.SelectConcepts) > 0 && !slices.ContainsFunc(oc.SelectConcepts, picked) {
			return false
		}
		return c.Value >= oc.MinValue
	}
	pred.Concepts = slices.DeleteFunc(pred.Concepts, func(c predictor.Concept) bool { return !keep(c) })
	if oc.MaxConcepts > 0 && len(pred.Concepts) > int(oc.MaxConcepts) {
		pred.Concepts = pred.Concepts[:oc.MaxConcepts]
	}
	pred.Regions = slices.DeleteFunc(pred.Regions, func(r predictor.Region) bool {
		return r.Value < oc.MinValue || !slices.ContainsFunc(r.Concepts, keep)
	})
}
