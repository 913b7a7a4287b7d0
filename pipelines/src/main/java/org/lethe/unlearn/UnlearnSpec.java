package org.lethe.unlearn;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.lethe.config.LetheConfig;
import org.lethe.data.PromptTemplate;
import org.lethe.distributed.DataParallelTrainer;
import org.lethe.distributed.TrainingSettings;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelSettings;
import org.lethe.storage.LocalModels;
import org.lethe.storage.Locations;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The resolved, validated settings of an {@code unlearn} run for one model, everything but which
 * ingested data it reads: the method preset with the config's overrides as weighted loss parts,
 * the training settings (learning rate resolved), the ref_model and the hidden layer, the trainer
 * options, and how forget and retain samples are chosen. Built from the config and the model's
 * config.json alone, so a bad setting fails before Spark does any work, naming the key; it is
 * also how {@code continual} checks a request's settings before any dataset is involved.
 *
 * @param training {@code lethe.unlearn}'s training settings, {@code lr} resolved (0: the method's)
 * @param trainer the trainer options: {@code training}'s, with trainable, ref_model (when a term
 *     needs it), abort_grad_norm, LoRA and {@code lethe.model.max_full_parameters}
 * @param modelSettings where and how the model computes
 */
public record UnlearnSpec(Methods.Method method, List<LossObjective.Part> parts, String model, String refModel,
        int layer, boolean needsRetain, boolean needsRef, boolean needsRefusals, boolean needsMismatch,
        boolean refusalsOnRetain, TrainingSettings training, DataParallelTrainer.Options trainer,
        ModelSettings modelSettings, Samples samples, PromptTemplate prompt) {

    /**
     * Which samples a run forgets and keeps, within its dataset.
     *
     * @param datasetRefusals refusals = auto: the dataset's ingested refusals when it has any (else
     *     the built-in ones); false: always the built-in ones
     * @param entangled retain_selection = entangled: pair forget samples by stats run
     *     {@code statsRunId}'s influence pairs
     * @param skipForgotten leave out forget samples already forgotten by {@code statsRunId} against
     *     {@code retainStatsRunId}
     */
    public record Samples(String forgetSplit, String retainSplit, boolean datasetRefusals, boolean entangled,
            String statsRunId, boolean skipForgotten, String retainStatsRunId) {}

    private static final Pattern WEIGHTED = Pattern.compile("\\s*(?:([0-9.eE+-]+)\\s*\\*\\s*)?([a-z_]+)\\s*");
    private static final Pattern PARAM = Pattern.compile("([a-z_]+)\\.([a-z_0-9]+)=(.+)");

    /** Resolves and validates {@code lethe.unlearn.*} except the dataset and its ingest run. */
    public static UnlearnSpec of(LetheConfig config) {
        Methods.Method method;
        try {
            method = Methods.get(config.getString("unlearn.method"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("lethe.unlearn.method: " + e.getMessage(), e);
        }
        Map<String, Map<String, Double>> params = params(config.getStringList("unlearn.params"));

        // Forget term.
        String forgetText = config.getString("unlearn.forget_loss");
        String forgetTerm = method.forgetTerm();
        double forgetCoeff = method.forgetCoeff();
        if (!forgetText.isBlank()) {
            List<WeightedTerm> f = weightedList("unlearn.forget_loss", forgetText);
            if (f.size() != 1) {
                throw new IllegalArgumentException("lethe.unlearn.forget_loss: expected one term, got '" + forgetText + "'");
            }
            forgetTerm = f.get(0).term();
            forgetCoeff = f.get(0).coeff();
        }
        double fc = config.getDouble("unlearn.forget_coeff");
        if (fc >= 0) {
            forgetCoeff = fc;
        } else if (fc != -1) {
            throw new IllegalArgumentException("lethe.unlearn.forget_coeff must be >= 0 (or -1: the method's), got " + fc);
        }
        List<LossObjective.Part> parts = new ArrayList<>();
        LossTerm forget = build("unlearn.forget_loss", true, forgetTerm, params);
        parts.add(LossObjective.Part.of(true, forgetTerm, forgetCoeff, params.getOrDefault(forgetTerm, Map.of())));

        // Retain terms.
        String retainText = config.getString("unlearn.retain_loss");
        List<WeightedTerm> retain = new ArrayList<>();
        if (retainText.isBlank()) {
            retain.addAll(method.retain());
        } else if (!retainText.strip().equals("none")) {
            retain.addAll(weightedList("unlearn.retain_loss", retainText));
        }
        double rc = config.getDouble("unlearn.retain_coeff");
        if (rc < 0 && rc != -1) {
            throw new IllegalArgumentException("lethe.unlearn.retain_coeff must be >= 0 (or -1: 1), got " + rc);
        }
        List<LossTerm> terms = new ArrayList<>(List.of(forget));
        for (WeightedTerm w : retain) {
            if (w.term().equals("none")) {
                continue;
            }
            terms.add(build("unlearn.retain_loss", false, w.term(), params));
            parts.add(LossObjective.Part.of(false, w.term(), w.coeff() * (rc < 0 ? 1 : rc),
                    params.getOrDefault(w.term(), Map.of())));
        }
        for (String named : params.keySet()) {
            if (parts.stream().noneMatch(p -> p.term().equals(named))) {
                throw new IllegalArgumentException("lethe.unlearn.params: term '" + named + "' is not part of this run's"
                        + " objective (" + parts.stream().map(LossObjective.Part::term).toList() + ")");
            }
        }
        if (parts.stream().map(LossObjective.Part::label).distinct().count() != parts.size()) {
            throw new IllegalArgumentException("lethe.unlearn.retain_loss: a term appears twice in "
                    + parts.stream().map(LossObjective.Part::label).toList());
        }

        TrainingSettings training = TrainingSettings.of(config, "unlearn");
        double lr = training.lr();
        if (lr < 0 || !Double.isFinite(lr)) {
            throw new IllegalArgumentException("lethe.unlearn.lr must be > 0 (or 0: the method's default), got " + lr);
        }
        if (lr == 0) {
            Object d = method.defaults().get("lr");
            lr = d == null ? 1e-5 : ((Number) d).doubleValue();
        }
        training = training.withLr(lr);

        String model = config.getString("unlearn.model");
        if (model.isBlank()) {
            throw new IllegalArgumentException("lethe.unlearn.model must be set: the model directory to unlearn from");
        }
        LlamaConfig modelConfig = readModelConfig("unlearn.model", model);
        boolean needsRef = terms.stream().anyMatch(LossTerm::needsRefModel);
        String ref = config.getString("unlearn.ref_model").isBlank() ? model : config.getString("unlearn.ref_model");
        if (needsRef) {
            LlamaConfig refConfig = readModelConfig("unlearn.ref_model", ref);
            if (refConfig.vocabSize() != modelConfig.vocabSize() || refConfig.hiddenSize() != modelConfig.hiddenSize()) {
                throw new IllegalArgumentException("lethe.unlearn.ref_model: " + ref + " (vocab " + refConfig.vocabSize()
                        + ", hidden " + refConfig.hiddenSize() + ") does not match the model (vocab "
                        + modelConfig.vocabSize() + ", hidden " + modelConfig.hiddenSize() + ")");
            }
        }
        int layers = modelConfig.numHiddenLayers();
        int layer = config.getInt("unlearn.layer");
        if (layer == -1) {
            layer = layers / 2;
        } else if (layer < 0 || layer >= layers) {
            throw new IllegalArgumentException("lethe.unlearn.layer: " + layer + " is outside the model's " + layers
                    + " decoder layers (0.." + (layers - 1) + ", or -1 for the middle one)");
        }
        ModelSettings modelSettings = ModelSettings.of(config);
        String refDtype = config.getString("unlearn.ref_dtype");
        ModelSettings refSettings = refDtype.isEmpty() ? modelSettings : modelSettings.withDtype(refDtype);
        LoraSettings lora = LoraSettings.of(config);
        String refusals = config.getString("unlearn.refusals");
        if (!refusals.equals("auto") && !refusals.equals("builtin")) {
            throw new IllegalArgumentException("lethe.unlearn.refusals must be auto or builtin, got '" + refusals + "'");
        }
        boolean needsRetain = false;
        boolean refusalsOnRetain = false;
        boolean needsRefusals = false;
        boolean needsMismatch = false;
        for (int i = 0; i < terms.size(); i++) {
            LossTerm t = terms.get(i);
            LossObjective.Role role = LossObjective.rowsOf(parts.get(i), t);
            needsRetain |= !parts.get(i).forget();
            needsRefusals |= t.alternative() == Alternative.REFUSAL;
            refusalsOnRetain |= t.alternative() == Alternative.REFUSAL && role == LossObjective.Role.RETAIN;
            needsMismatch |= t.alternative() == Alternative.MISMATCHED_ANSWER;
        }
        String retainSplit = config.getString("unlearn.retain_split");
        if (needsRetain && retainSplit.isBlank()) {
            throw new IllegalArgumentException("lethe.unlearn.retain_split must be set: " + method.name() + " has retain"
                    + " terms " + parts.stream().filter(p -> !p.forget()).map(LossObjective.Part::term).toList());
        }
        String forgetSplit = config.getString("unlearn.forget_split");
        if (forgetSplit.isBlank()) {
            throw new IllegalArgumentException("lethe.unlearn.forget_split must be set");
        }
        String selection = config.getString("unlearn.retain_selection");
        if (!selection.equals("random") && !selection.equals("entangled")) {
            throw new IllegalArgumentException("lethe.unlearn.retain_selection must be random or entangled, got '"
                    + selection + "'");
        }
        String statsRun = config.getString("unlearn.stats_run_id");
        String retainStatsRun = config.getString("unlearn.retain_stats_run_id");
        if (selection.equals("entangled") && statsRun.isBlank()) {
            throw new IllegalArgumentException("lethe.unlearn.retain_selection = entangled needs"
                    + " lethe.unlearn.stats_run_id (a `lethe stats` run of this model on this dataset)");
        }
        boolean skipForgotten = config.getBoolean("unlearn.skip_forgotten");
        if (skipForgotten && (statsRun.isBlank() || retainStatsRun.isBlank())) {
            throw new IllegalArgumentException("lethe.unlearn.skip_forgotten needs lethe.unlearn.stats_run_id (stats of"
                    + " this model) and lethe.unlearn.retain_stats_run_id (stats of the retain-only model)");
        }
        DataParallelTrainer.Options trainer = training.trainerOptions()
                .withTrainable(config.getStringList("unlearn.trainable"))
                .withRefModel(needsRef ? ref : null, refSettings)
                .withAbortGradNorm(config.getDouble("unlearn.abort_grad_norm"))
                .withMaxTrainedParameters(config.getLong("model.max_full_parameters"))
                .withLora(lora);
        Samples samples = new Samples(forgetSplit, retainSplit, refusals.equals("auto"), selection.equals("entangled"),
                statsRun, skipForgotten, retainStatsRun);
        return new UnlearnSpec(method, parts, model, ref, layer, needsRetain, needsRef, needsRefusals, needsMismatch,
                refusalsOnRetain, training, trainer, modelSettings, samples, PromptTemplate.of(config));
    }

    /** The peak learning rate (the method's default when lethe.unlearn.lr is 0). */
    public double lr() {
        return training.lr();
    }

    /** Warmup steps for a run of {@code stepsPerEpoch} steps an epoch: warmup_steps = -1 means one epoch. */
    public long warmupSteps(long stepsPerEpoch) {
        return training.warmupSteps() == -1 ? stepsPerEpoch : training.warmupSteps();
    }

    private static List<WeightedTerm> weightedList(String key, String text) {
        List<WeightedTerm> out = new ArrayList<>();
        for (String piece : text.split("\\+(?![0-9])")) {
            Matcher m = WEIGHTED.matcher(piece);
            if (!m.matches()) {
                throw new IllegalArgumentException("lethe." + key + ": cannot read '" + piece.strip() + "' in '" + text
                        + "'; expected term or coeff*term joined by +");
            }
            double coeff = 1;
            if (m.group(1) != null) {
                try {
                    coeff = Double.parseDouble(m.group(1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("lethe." + key + ": '" + m.group(1) + "' is not a number in '"
                            + text + "'", e);
                }
                if (coeff < 0 || !Double.isFinite(coeff)) {
                    throw new IllegalArgumentException("lethe." + key + ": coefficient " + coeff + " must be >= 0");
                }
            }
            out.add(new WeightedTerm(m.group(2), coeff));
        }
        return out;
    }

    private static LossTerm build(String key, boolean forget, String term, Map<String, Map<String, Double>> params) {
        try {
            Map<String, Double> p = params.getOrDefault(term, Map.of());
            return forget ? LossTerms.forget(term, p) : LossTerms.retain(term, p);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("lethe." + key + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Map<String, Double>> params(List<String> entries) {
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        for (String entry : entries) {
            Matcher m = PARAM.matcher(entry.strip());
            if (!m.matches()) {
                throw new IllegalArgumentException("lethe.unlearn.params: cannot read '" + entry
                        + "'; expected term.parameter=value, e.g. npo.beta=0.2");
            }
            double value;
            try {
                value = Double.parseDouble(m.group(3).strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("lethe.unlearn.params: '" + m.group(3) + "' in '" + entry
                        + "' is not a number", e);
            }
            out.computeIfAbsent(m.group(1), k -> new LinkedHashMap<>()).put(m.group(2), value);
        }
        return out;
    }

    private static LlamaConfig readModelConfig(String key, String dir) {
        if (!LocalModels.hasFile(dir, "config.json")) {
            throw new IllegalArgumentException("lethe." + key + ": " + dir + " is not a model directory (no config.json)");
        }
        try {
            // Only config.json, read where it is: a remote model is not copied to check it.
            if (Locations.isLocal(dir)) {
                return LlamaConfig.read(Locations.localPath(dir));
            }
            byte[] json = LocalModels.readFile(dir, "config.json").orElseThrow();
            return LlamaConfig.fromJson(new ObjectMapper().readTree(json),
                    dir + "/config.json");
        } catch (IOException e) {
            throw new IllegalArgumentException("lethe." + key + ": " + dir + "/config.json: not valid JSON: "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("lethe." + key + ": " + e.getMessage(), e);
        }
    }
}
