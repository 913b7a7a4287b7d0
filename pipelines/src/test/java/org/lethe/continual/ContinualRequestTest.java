package org.lethe.continual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.model.ModelPresets;
import org.lethe.store.Fingerprints;

/**
 * Continual's derived requests record exactly the configs (and so the runs rows' fingerprints and
 * the retain-only run ids) that the config strings of earlier versions gave: the old derivation is
 * written out here as it was and compared.
 */
class ContinualRequestTest {

    /** The old ContinualJob.requestConfig, verbatim. */
    private static LetheConfig oldRequestConfig(LetheConfig config, Requests.Request r, String model, String refModel,
            String dataset, String dataRun) {
        List<String> sets = new ArrayList<>();
        sets.add("unlearn.method=" + r.method());
        sets.addAll(r.overrides());
        sets.add("unlearn.model=" + model);
        sets.add("unlearn.ref_model=" + refModel);
        sets.add("unlearn.dataset=" + dataset);
        sets.add("unlearn.data_run_id=" + dataRun);
        sets.add("unlearn.resume=true");
        sets.add("eval.dataset=" + dataset);
        sets.add("eval.data_run_id=" + dataRun);
        return config.with(sets);
    }

    /** The old ContinualJob.retainRun's training config and id, verbatim. */
    private static String oldRetainId(LetheConfig cfg, List<String> trainSplits, String dataset, String dataRun,
            String data) throws Exception {
        LetheConfig train = cfg.with(List.of("train.dataset=" + dataset, "train.data_run_id=" + dataRun,
                "train.splits=[" + String.join(",", trainSplits) + "]", "train.resume=true"));
        String trainJson = new ObjectMapper().readTree(train.toJson()).path("lethe").path("train").toString();
        return "retain-" + Fingerprints.sha256(data + "\n" + trainJson).substring(0, 16);
    }

    @Test
    void derivedRequestsRecordTheConfigsTheOldStringsGave(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("model");
        ModelPresets.config("tiny", 40).write(model);
        Path parent = tmp.resolve("checkpoint-2");
        ModelPresets.config("tiny", 40).write(parent);
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of("continual.dataset=synth",
                "continual.model=" + model, "continual.train_splits=[full, general]", "unlearn.epochs=1",
                "train.model=" + model, "train.lr=1e-3", "eval.max_samples=4"));
        ContinualRequest request = ContinualRequest.of(config);
        // Overrides that reach the method and a retain term's coefficient, as `lethe request --set` stores them.
        Requests.Request r = Requests.Request.submitted("req-a", Instant.parse("2026-11-20T09:00:00Z"), "synth",
                ForgetSelector.parse("authors:3"), "npo", List.of("unlearn.max_steps=2", "lethe.unlearn.retain_coeff=0.5",
                        "unlearn.params=[\"npo.beta=0.2\"]"));

        ContinualRequest.Jobs jobs = request.jobs(r, parent.toString(), model.toString());
        LetheConfig old = oldRequestConfig(config, r, parent.toString(), model.toString(), "synth", "ingest-synth");
        assertEquals(old.sha256(), jobs.unlearn().configSha256());
        assertEquals(old.toJson(), jobs.unlearn().provenance().toJson());
        assertEquals(old.sha256(), jobs.evaluate().configSha256());

        String data = "synth/ingest-synth/1234/56";
        assertEquals(oldRetainId(old, List.of("full", "general"), "synth", "ingest-synth", data),
                ContinualRequest.retainRunId(request.retainTraining(jobs), data));
    }

    @Test
    void aRequestsOverridesAreAllowListedAndStoredResolved(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("model");
        ModelPresets.config("tiny", 40).write(model);
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of("continual.dataset=synth",
                "continual.model=" + model, "unlearn.lr=1e-5"));
        ContinualRequest.Submission s = ContinualRequest.Submission.of(config, "npo", List.of("lethe.unlearn.lr=1e-4",
                "unlearn.schedule=cosine", "unlearn.params=[\"npo.beta=0.2\"]", "lora.rank=0", "unlearn.lr=2e-4"));
        // key=<JSON value>: typed, quoted, prefix dropped, a repeated key's last value
        assertEquals(List.of("unlearn.schedule=\"cosine\"", "unlearn.params=[\"npo.beta=0.2\"]", "lora.rank=0",
                "unlearn.lr=2.0E-4"), s.overrides());
        // Stored resolved, they mean what was given.
        assertEquals(config.with(List.of("unlearn.lr=2e-4", "unlearn.schedule=cosine", "unlearn.params=[\"npo.beta=0.2\"]"))
                .sha256(), config.with(s.overrides()).sha256());

        for (String key : List.of("unlearn.output", "unlearn.model", "lethe.unlearn.ref_model", "unlearn.dataset",
                "unlearn.resume", "train.lr", "store.root")) {
            String bare = key.replaceFirst("^lethe\\.", "");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ContinualRequest.Submission.of(config, "npo", List.of(key + "=x")));
            assertEquals("--set " + key + "=x: lethe." + bare + " is not a setting a request may change (outputs, roots,"
                    + " models and data are continual's); a request may set "
                    + String.join(", ", new java.util.TreeSet<>(ContinualRequest.REQUEST_KEYS)), e.getMessage());
        }
        for (String value : List.of("${HOME}", "${?HOME}", "[${lethe.unlearn.lr}]", "include \"x.conf\"")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ContinualRequest.Submission.of(config, "npo", List.of("unlearn.lr=" + value)));
            assertEquals("--set unlearn.lr=" + value + ": lethe.unlearn.lr: a request's value may not hold a substitution"
                    + " (${...}) or an include: give the value itself", e.getMessage());
        }
        // A row stored before the allow-list is checked when continual runs it.
        Requests.Request old = Requests.Request.submitted("req-old", Instant.parse("2026-11-20T09:00:00Z"), "synth",
                ForgetSelector.parse("authors:3"), "npo", List.of("unlearn.output=/elsewhere"));
        ContinualRequest request = ContinualRequest.of(config.with(List.of("continual.retain_run=none")));
        assertEquals("--set unlearn.output=/elsewhere: lethe.unlearn.output is not a setting a request may change",
                assertThrows(IllegalArgumentException.class, () -> request.jobs(old, model.toString(), model.toString()))
                        .getMessage().split(" \\(")[0]);
    }
}
