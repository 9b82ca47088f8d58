import nbformat.v4 as nbf

from booktools.determinism import output_differences


def notebook(*cells):
    return nbf.new_notebook(cells=list(cells))


def cell(source="x", outputs=(), tags=()):
    new = nbf.new_code_cell(source, metadata={"tags": list(tags)})
    new.outputs = list(outputs)
    return new


def stream(text, name="stdout"):
    return nbf.new_output("stream", name=name, text=text)


def result(text, png=None):
    data = {"text/plain": text}
    if png:
        data["image/png"] = png
    return nbf.new_output("display_data", data=data)


def test_identical_runs_have_no_differences():
    run = notebook(cell(outputs=[stream("loss 1.23\n")]), cell(outputs=[result("0.5")]))
    assert output_differences(run, run) == []


def test_a_changed_number_is_reported_with_its_cell():
    first = notebook(cell(outputs=[stream("a\n")]), cell(outputs=[stream("loss 1.23\n")]))
    second = notebook(cell(outputs=[stream("a\n")]), cell(outputs=[stream("loss 1.24\n")]))
    (difference,) = output_differences(first, second)
    assert difference.startswith("Cell 1:") and "1.24" in difference


def test_streams_split_differently_compare_equal():
    first = notebook(cell(outputs=[stream("a\nb\n")]))
    second = notebook(cell(outputs=[stream("a\n"), stream("b\n")]))
    assert output_differences(first, second) == []


def test_images_are_not_compared_but_their_text_is():
    first = notebook(cell(outputs=[result("<Figure>", png="AAAA")]))
    second = notebook(cell(outputs=[result("<Figure>", png="BBBB")]))
    assert output_differences(first, second) == []
    third = notebook(cell(outputs=[result("<Figure 2>", png="AAAA")]))
    assert output_differences(first, third) != []


def test_cells_marked_as_nbval_ignore_output_opt_out():
    tagged = notebook(cell(outputs=[stream("took 1.2 s\n")], tags=["nbval-ignore-output"]))
    retagged = notebook(cell(outputs=[stream("took 1.5 s\n")], tags=["nbval-ignore-output"]))
    assert output_differences(tagged, retagged) == []
    commented = notebook(cell("# NBVAL_IGNORE_OUTPUT\nt()", outputs=[stream("1.2\n")]))
    recommented = notebook(cell("# NBVAL_IGNORE_OUTPUT\nt()", outputs=[stream("1.5\n")]))
    assert output_differences(commented, recommented) == []


def test_different_cell_counts_are_reported():
    assert output_differences(notebook(cell()), notebook(cell(), cell())) != []
