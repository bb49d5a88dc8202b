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

    @Override
    public Variable forward(Variable x) {
        Variable h = x;
        for (Module m : layers) h = m.forward(h);
        return h;
    }
}
