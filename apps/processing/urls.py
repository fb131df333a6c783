app_name = "processing"
urlpatterns = []
