// The parameter registry: modules own named parameters and child modules, so that a model's
// state maps one-to-one onto checkpoint names ("encoder.layer.0.attention.self.query.weight").
import { Tensor } from "./tensor.js";

export class Module {
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  training = true;

  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    t.name = name;
    this.params.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Registers a child module from outside (as torch's add_module); PEFT methods use it. */
  addModule<M extends Module>(name: string, m: M): M {
    if (this.children.has(name)) throw new Error(`a module named ${name} is already registered`);
    return this.child(name, m);
  }

  /** Direct children by name. */
  namedChildren(): Array<[string, Module]> {
    return [...this.children];
  }

  protected removeChild(name: string): void {
    this.children.delete(name);
  }

  /**
   * Replaces a registered parameter's tensor (checkpoint loading, adapter merging). A field of the
   * same name that held the old tensor (Linear.weight, LayerNorm.bias...) is pointed at the new one.
   */
  setParameter(name: string, t: Tensor): void {
    const old = this.params.get(name);
    if (!old) throw new Error(`no parameter named ${name}`);
    t.name = name;
    this.params.set(name, t);
    const fields = this as unknown as Record<string, unknown>;
    if (fields[name] === old) fields[name] = t;
  }

  /** All parameters with dotted names, depth first in registration order. */
  namedParameters(prefix = ""): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [n, t] of this.params) out.push([prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters that currently receive gradients. */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((t) => t.requiresGrad);
  }

  namedModules(prefix = ""): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix.replace(/\.$/, ""), this]];
    for (const [n, m] of this.children) out.push(...m.namedModules(`${prefix}${n}.`));
    return out;
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Freezes (or unfreezes) every parameter. */
  requiresGrad(on: boolean): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  parameterCount(trainableOnly = false): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((s, p) => s + p.size, 0);
  }
}

/** Numbered children ("layer.0", "layer.1", ...), as torch.nn.ModuleList names them. */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[] = [];

  push(m: M): M {
    this.child(String(this.items.length), m);
    this.items.push(m);
    return m;
  }
}
