package dev.kiln.peft;

import ai.djl.ndarray.NDManager;
import dev.kiln.config.RunConfig;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Parameters;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A task with a PEFT method on its backbone. Everything is the task's own, except: only the PEFT parameters,
 * the biases the method trains and the heads train ({@link #trainable()}), forwards know whether they train
 * (LoRA dropout), and {@link #save} writes a PEFT folder (adapter and head only; {@link PeftFolder}).
 */
public final class PeftTask implements TrainableTask {
    private final TrainableTask inner;
    private final PeftModel model;
    private final String baseModel;
    private final String taskType;
    private final Predicate<String> trainable;

    public PeftTask(TrainableTask inner, PeftModel model, String baseModel, String taskType) {
        this.inner = inner;
        this.model = model;
        this.baseModel = baseModel;
        this.taskType = taskType;
        this.trainable = model.trainable(); // the heads exist now: they are part of the task
    }

    /**
     * The task with the config's {@code peft} method applied, or {@code task} itself for method none. Call it on a
     * freshly created task (before training or restoring a checkpoint).
     */
    public static TrainableTask wrap(RunConfig cfg, TrainableTask task) throws IOException {
        PeftSpec spec = PeftSpec.fromConfig(cfg);
        if (spec == null) return task;
        String base = ModelZoo.resolve(cfg.model.name).toAbsolutePath().normalize().toString();
        PeftModel m;
        try {
            m = PeftModel.apply(spec, task.backbone());
        } catch (IllegalArgumentException e) {
            throw cfg.error(spec.method == PeftSpec.Method.LORA ? "peft.lora.target_modules"
                    : spec.method == PeftSpec.Method.ADALORA ? "peft.adalora.target_modules" : "peft.method", e.getMessage());
        }
        return new PeftTask(task, m, base, cfg.task.type);
    }

    public PeftModel peftModel() {
        return model;
    }

    /** HF PEFT's TaskType for a Kiln task type, or null where PEFT has none (MLM pretraining, sentence scoring). */
    static String peftTaskType(String kilnTask) {
        return switch (kilnTask) {
            case "classification" -> "SEQ_CLS";
            case "ner" -> "TOKEN_CLS";
            case "qa" -> "QUESTION_ANS";
            case "pretrain-gpt", "summarize-gpt" -> "CAUSAL_LM";
            case "summarize-bert2bert" -> "SEQ_2_SEQ_LM";
            default -> null;
        };
    }

    @Override
    public Predicate<String> trainable() {
        return trainable.and(inner.trainable());
    }

    @Override public Parameters parameters() { return inner.parameters(); }
    @Override public Backbone backbone() { return inner.backbone(); }
    @Override public long flopParameters() { return inner.flopParameters(); }
    @Override public int trainSize() { return inner.trainSize(); }
    @Override public int exampleLength(int index) { return inner.exampleLength(index); }
    @Override public Batch collate(int[] indexes) { return inner.collate(indexes); }
    @Override public Batch collate(int[] indexes, int epoch) { return inner.collate(indexes, epoch); }
    @Override public dev.kiln.train.EvalOutputs evalOutputs() { return inner.evalOutputs(); }
    @Override public String mainMetric() { return inner.mainMetric(); }
    @Override public boolean higherIsBetter(String metric) { return inner.higherIsBetter(metric); }

    /** AdaLoRA's rank allocation after each optimizer step; the run's step count becomes PEFT's total_step. */
    @Override
    public dev.kiln.train.StepHook stepHook(long totalSteps) {
        if (model.spec.method != PeftSpec.Method.ADALORA) return inner.stepHook(totalSteps);
        if (inner.stepHook(totalSteps) != null) throw new IllegalStateException("the task has its own step hook; AdaLoRA cannot share it");
        model.spec.totalStep = totalSteps;
        return new RankAllocator(model, totalSteps);
    }

    /**
     * The task's loss; AdaLoRA adds orth_reg_weight × its orthogonality penalty when training (PEFT adds it to the
     * mean loss: here the loss is a sum over the batch's targets, so the penalty is counted once per target).
     */
    @Override
    public Loss loss(Batch batch, NDManager step, boolean training) {
        model.setTraining(training);
        try {
            Loss l = inner.loss(batch, step, training);
            if (!training || model.spec.method != PeftSpec.Method.ADALORA || model.spec.orthRegWeight == 0) return l;
            ai.djl.ndarray.NDArray pen = model.orthPenalty(step);
            double w = model.spec.orthRegWeight * Math.max(1, batch.targets());
            return new Loss(l.sum().add(pen.mul(dev.kiln.nn.Functional.scalar(pen, w))));
        } finally {
            model.setTraining(false);
        }
    }

    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        model.setTraining(false);
        return inner.evaluate(parent);
    }

    @Override
    public void save(Path dir) throws IOException {
        PeftFolder.save(dir, inner, model, baseModel, peftTaskType(taskType));
    }

    @Override
    public void close() {
        inner.close();
    }
}
