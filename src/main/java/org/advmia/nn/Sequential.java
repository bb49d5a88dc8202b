package org.advmia.nn;

import java.util.ArrayList;
import java.util.List;
import org.advmia.autograd.Variable;

/** torch.nn.Sequential: children named "0", "1", ... in order. */
public final class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    public Sequential(Module... modules) {
        for (Module m : modules) add(m);
    }

    public Sequential add(Module m) {
        register(String.valueOf(layers.size()), m);
        layers.add(m);
        return this;
    }

    public Module get(int i) {
        return layers.get(i);
    }

    public int size() {
        return layers.size();
    }

    /**
     * Runs the layers in order. A batch norm directly followed by a ReLU or ReLU6 runs as one
     * fused op: same values and gradients, but the graph keeps one activation instead of two (the
     * batch norm's own output is visible to no one inside a Sequential).
     */
    @Override
    public Variable forward(Variable x) {
        Variable h = x;
        for (int i = 0; i < layers.size(); i++) {
            Module m = layers.get(i);
            if (m instanceof BatchNorm2d bn && i + 1 < layers.size() && layers.get(i + 1) instanceof Activation a
                    && a.fusableOp() != null) {
                h = bn.forward(h, a.fusableOp());
                i++;
            } else {
                h = m.forward(h);
            }
        }
        return h;
    }
}
