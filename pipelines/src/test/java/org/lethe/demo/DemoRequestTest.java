package org.lethe.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.model.ModelPresets;

/**
 * The demo's inner requests record exactly the configs the config strings of earlier versions
 * gave (so its runs rows keep their config_sha256): the old strings are written out here as they
 * were and compared, for both presets.
 */
class DemoRequestTest {

    @Test
    void innerRequestsRecordTheConfigsTheOldStringsGave(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("checkpoints/target/checkpoint-372");
        ModelPresets.config("tiny", 40).write(target);
        Path bench = tmp.resolve("bench");
        Path checkpoints = tmp.resolve("checkpoints");
        LetheConfig config = LetheConfig.defaults();
        for (String preset : List.of("quick", "full")) {
            DemoRequest request = DemoRequest.of(config, preset);
            String p = "demo." + preset + ".";
            // The old DemoJob's strings, verbatim.
            List<String> train = new ArrayList<>(List.of("train.dataset=synth",
                    "train.tokenizer=" + bench.resolve("tokenizer.json"),
                    "train.init_preset=" + config.getString(p + "model_preset"), "train.init_seed=0",
                    "train.epochs=" + config.getInt(p + "finetune_epochs"),
                    "train.batch_size=" + config.getInt(p + "finetune_batch_size"),
                    "train.lr=" + config.getDouble(p + "finetune_lr"),
                    "train.warmup_steps=" + config.getInt(p + "finetune_warmup_steps"), "train.resume=true"));
            train.add("train.splits=[retain90, general]");
            train.add("train.output=" + checkpoints.resolve("retain"));
            assertEquals(config.with(train).sha256(), request.finetune(bench.resolve("tokenizer.json"),
                    List.of("retain90", "general"), checkpoints.resolve("retain")).configSha256(), preset);

            assertEquals(config.with(List.of("eval.dataset=synth",
                    "eval.max_new_tokens=" + config.getInt(p + "eval_max_new_tokens"),
                    "eval.mia_gradient_norm=" + config.getBoolean(p + "eval_gradient_norm"))).sha256(),
                    request.evaluate().configSha256(), preset);
            assertEquals(config.with(List.of("stats.dataset=synth", "stats.splits.holdout=\"\"")).sha256(),
                    request.stats().configSha256(), preset);
            for (String method : config.getStringList(p + "methods")) {
                String id = method.replace('+', '_');
                LetheConfig old = config.with(List.of("unlearn.dataset=synth", "unlearn.model=" + target,
                        "unlearn.method=" + method, "unlearn.epochs=" + config.getInt(p + "unlearn_epochs"),
                        "unlearn.batch_size=" + config.getInt(p + "unlearn_batch_size"),
                        "unlearn.lr=" + config.getDouble(p + "unlearn_lr"),
                        "unlearn.output=" + checkpoints.resolve(id)));
                assertEquals(old.sha256(), request.unlearn(method, target.toString(), checkpoints.resolve(id))
                        .configSha256(), preset + " " + method);
            }
            assertEquals(config.sha256(), request.ingest(bench).configSha256());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DemoRequest.of(config, "big"));
        assertTrue(e.getMessage().contains("--preset: unknown 'big'"), e.getMessage());
    }
}
