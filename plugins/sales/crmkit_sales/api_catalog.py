"""HTTP door to products, price lists and document templates."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth.declare import protect

from crmkit_sales import documents, products
from crmkit_sales import schemas as s
from crmkit_sales.api_common import by_user

blp = protect(Blueprint("sales_catalog", __name__, description="Products and price lists"),
              read="sales.catalog:read", write="sales.catalog:manage")
templates_blp = protect(Blueprint("sales_templates", __name__,
                                  description="Document templates (versioned)"),
                        read="sales.deals:read", write="sales.templates:manage")


@blp.route("/products")
class Products(MethodView):
    @blp.arguments(s.SalesProductListArgs, location="query")
    @blp.response(200, s.SalesProductOut(many=True))
    def get(self, args):
        return [products.product_dict(p)
                for p in products.list_products(args.get("active"), args.get("q"))]

    @blp.arguments(s.SalesProductIn)
    @blp.response(201, s.SalesProductOut)
    def post(self, data):
        return products.product_dict(products.create_product(data))


@blp.route("/products/<int:product_id>")
class ProductItem(MethodView):
    @blp.response(200, s.SalesProductOut)
    def get(self, product_id):
        return products.product_dict(products.get_product(product_id))

    @blp.arguments(s.SalesProductPatch)
    @blp.response(200, s.SalesProductOut)
    def patch(self, data, product_id):
        return products.product_dict(products.update_product(products.get_product(product_id),
                                                             data))

    @blp.response(204)
    def delete(self, product_id):
        """Delete a product no deal uses (409 otherwise: set it inactive)."""
        products.delete_product(products.get_product(product_id))


@blp.route("/price-lists")
class PriceLists(MethodView):
    @blp.response(200, s.SalesPriceListOut(many=True))
    def get(self):
        return [products.price_list_dict(p) for p in products.list_price_lists()]

    @blp.arguments(s.SalesPriceListIn)
    @blp.response(201, s.SalesPriceListOut)
    def post(self, data):
        """A price list in one currency, valid between two days (either may be open)."""
        return products.price_list_dict(products.create_price_list(data))


@blp.route("/price-lists/<int:price_list_id>")
class PriceListItem(MethodView):
    @blp.response(200, s.SalesPriceListOut)
    def get(self, price_list_id):
        return products.price_list_dict(products.get_price_list(price_list_id))

    @blp.arguments(s.SalesPriceListPatch)
    @blp.response(200, s.SalesPriceListOut)
    def patch(self, data, price_list_id):
        """Change a price list; ``items`` replaces its prices."""
        return products.price_list_dict(products.update_price_list(
            products.get_price_list(price_list_id), data))

    @blp.response(204)
    def delete(self, price_list_id):
        products.delete_price_list(products.get_price_list(price_list_id))


# -- templates ------------------------------------------------------------------------------------

@templates_blp.route("/templates")
class Templates(MethodView):
    @templates_blp.arguments(s.SalesTemplateListArgs, location="query")
    @templates_blp.response(200, s.SalesTemplateOut(many=True))
    def get(self, args):
        """The newest version of each template (or every version)."""
        return [documents.template_dict(t)
                for t in documents.list_templates(args["all_versions"])]

    @templates_blp.arguments(s.SalesTemplateIn)
    @templates_blp.response(201, s.SalesTemplateOut)
    def post(self, data):
        """Create a template (or, for an existing name, its next version). Merge fields:
        ``customer``, ``deal``, ``lines``, ``totals``, ``payment``, ``seller``, ``document``,
        ``benefit``, ``perks``; filters ``money``, ``date``, ``nl2br``."""
        return documents.template_dict(documents.create_template(
            data["name"], data["kind"], data.get("body"), by_user()))


@templates_blp.route("/templates/<string:name>/versions")
class TemplateVersions(MethodView):
    @templates_blp.arguments(s.SalesTemplateVersionIn)
    @templates_blp.response(201, s.SalesTemplateOut)
    def post(self, data, name):
        """A new version of the template; documents made earlier keep theirs."""
        return documents.template_dict(documents.new_version(name, data.get("body"),
                                                             data.get("kind"), by_user()))


@templates_blp.route("/templates/<string:name>/active")
class TemplateActive(MethodView):
    @templates_blp.arguments(s.SalesTemplateActiveIn)
    @templates_blp.response(204)
    def put(self, data, name):
        """Switch a template (all its versions) on or off for new documents."""
        if documents.current_template(name, active_only=False) is None:
            from crmkit.errors import NotFound
            raise NotFound(f"No document template named {name!r}.")
        documents.set_template_active(name, data["active"])
