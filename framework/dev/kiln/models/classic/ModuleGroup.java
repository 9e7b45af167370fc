package dev.kiln.models.classic;

import ai.djl.ndarray.NDArray;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters of a classic model that belong together for {@link dev.kiln.train.Freeze} but are not one subtree of
 * its module tree, so that the checkpoint keys stay as the papers and torch name them: the model's body (its
 * {@code embeddings}, {@code convs} / {@code lstm} / {@code layers} children of the root, beside which the task
 * heads attach) and one layer of a BiLSTM (torch.nn.LSTM keeps every layer's tensors in one module,
 * {@code lstm.weight_ih_l0} ... {@code lstm.bias_hh_l1_reverse}).
 *
 * <p>A view, not a node: it is attached to no parent (its path is ""), and its walks ({@link #parameterKeys()},
 * {@link #namedModules()}, {@link #children()}, {@link #matmulParameterCount()}) cover the modules and keys it
 * groups, which remain where they are in the model's tree.
 */
final class ModuleGroup extends Module {
    private final String label;
    private final List<Module> modules;
    private final List<String> keys;

    ModuleGroup(Parameters store, String label, List<? extends Module> modules, List<String> keys) {
        super(store);
        this.label = label;
        this.modules = List.copyOf(modules);
        this.keys = List.copyOf(keys);
    }

    @Override
    public Map<String, Module> children() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        for (Module m : modules) out.put(m.name(), m);
        return out;
    }

    @Override
    public Map<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        for (Module m : modules) out.putAll(m.namedModules());
        return Collections.unmodifiableMap(out);
    }

    @Override
    public List<String> parameterKeys() {
        List<String> out = new ArrayList<>();
        for (Module m : modules) out.addAll(m.parameterKeys());
        out.addAll(keys);
        return out;
    }

    @Override
    public Map<String, NDArray> namedParameters() {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        for (String k : parameterKeys()) out.put(k, store().get(k));
        return Collections.unmodifiableMap(out);
    }

    /** The grouped modules' count, plus the grouped keys (an LSTM layer's weights all meet every token in a matmul). */
    @Override
    public long matmulParameterCount() {
        long n = 0;
        for (Module m : modules) n += m.matmulParameterCount();
        for (String k : keys) n += store().get(k).size();
        return n;
    }

    @Override
    public String toString() {
        return "ModuleGroup(" + label + ")";
    }
}
