package org.lethe.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.lethe.config.LetheConfig;

/** What a resume may change (the finetune and continual tests resume for real). */
class ResumeGuardTest {

    private static LetheConfig config(String... sets) {
        return LetheConfig.load(Optional.empty(), List.of(sets));
    }

    private static Checkpoints.Found found(LetheConfig c, String runId) {
        return new Checkpoints.Found("/ckpt/checkpoint-4", 4, 4, c.sha256(), runId, ResumeGuard.settings(c, "unlearn"));
    }

    private static String refusal(Checkpoints.Found f, String runId, LetheConfig now) {
        return assertThrows(IllegalArgumentException.class, () -> ResumeGuard.check(f, runId, now.sha256(),
                ResumeGuard.settings(now, "unlearn"), "unlearn")).getMessage();
    }

    @Test
    void partitionsMayChangeOnlyUnderOrderedReduceAndStepsAndOutputAlways() {
        LetheConfig tree = config("unlearn.reduce=tree", "unlearn.partitions=2", "unlearn.max_steps=3");
        LetheConfig now = config("unlearn.reduce=tree", "unlearn.partitions=4", "unlearn.max_steps=9",
                "unlearn.checkpoint_every_steps=1", "unlearn.output=/elsewhere", "eval.max_samples=3");
        assertEquals("/ckpt/checkpoint-4 was written with other settings than this run's: lethe.unlearn.partitions (2"
                + " there, 4 here); only max_steps, checkpoint_every_steps, abort_grad_norm and, under reduce = ordered, partitions may"
                + " change on resume; start over with lethe.unlearn.resume=false, or give this run its own"
                + " lethe.unlearn.output", refusal(found(tree, "r"), "r", now));
        LetheConfig ordered = config("unlearn.partitions=2");
        ResumeGuard.check(found(ordered, "r"), "r", "x", ResumeGuard.settings(config("unlearn.partitions=4",
                "unlearn.max_steps=9", "eval.max_samples=3", "model.dtype=float32"), "unlearn"), "unlearn");
        assertEquals("/ckpt/checkpoint-4 was written with other settings than this run's: lethe.model.dtype (\"float32\""
                + " there, \"float16\" here), lethe.unlearn.reduce (\"ordered\" there, \"tree\" here);", refusal(
                        found(ordered, "r"), "r", config("unlearn.reduce=tree", "unlearn.partitions=2",
                                "model.dtype=float16")).split(" only")[0]);
    }

    @Test
    void aCheckpointOfAnEarlierVersionResumesOnlyUnderTheSameConfig() {
        LetheConfig c = config("unlearn.lr=1e-3");
        Checkpoints.Found old = new Checkpoints.Found("/ckpt/checkpoint-4", 4, 4, c.sha256(), null, null);
        JsonNode settings = ResumeGuard.settings(c, "unlearn");
        ResumeGuard.check(old, "any", c.sha256(), settings, "unlearn");
        LetheConfig other = config("unlearn.lr=1e-3", "eval.max_samples=3");
        assertEquals("/ckpt/checkpoint-4 was written under another config (config_sha256 " + c.sha256() + ", this"
                + " run's " + other.sha256() + "; it records no settings to compare key by key); start over with"
                + " lethe.unlearn.resume=false, or give this run its own lethe.unlearn.output",
                refusal(old, "any", other));
    }
}
